"""Does numba earn its place? The lexical backend's pair loops, side by side.

For every trace of a file (default: a synthetic 1 MB trace from make_huge_trace.py) the
lexical backend's pair loops are timed (first call, then best of `--repeat`):

- TF-IDF pair product: every pair's two rows gathered at once (the old code), the same in
  bounded chunks (`semantic.pair_dots`, the shipped code) and an `@numba.njit` kernel
  (scatter row j into a dense vector, dot each partner i with it);
- coherence: the Python loop over pairs (`coherence.coherence`) and a numba kernel over
  integer ids, with the conversion of the step features to ids timed on its own;
- numba's fixed cost in a fresh process: `import numba` and the first call of a kernel
  already compiled into the on-disk cache (`cache=True`).

    python benchmarks/numba_kernels.py                     # synthetic 1 MB trace
    python benchmarks/numba_kernels.py ../shared/data/longcot/thought_anchors.dev.jsonl --format r1

Numba is not a dependency of bondkd (docs/benchmarks.md, "numba: kept or dropped"):
without it the numba columns are skipped.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bondkd.config import AnalyzeConfig
from bondkd.energy import coherence, semantic
from bondkd.energy.pairs import candidate_pairs
from bondkd.read.files import iter_traces
from bondkd.steps.segment import segment, segment_steps

try:
    import numba
except ImportError:  # the numba columns are skipped
    numba = None

HERE = Path(__file__).parent
CUES = {"conclusion": 1, "sequence": 2}  # the cues that change the adjacent strength
FIXED_COST = """
import time, sys
t0 = time.perf_counter()
import numba
t1 = time.perf_counter()
sys.path.insert(0, {here!r})
from numba_kernels import pair_dots_numba
import numpy as np
t2 = time.perf_counter()
pair_dots_numba(np.zeros(2, np.int32), np.zeros(0, np.int32), np.zeros(0), np.zeros((1, 2), np.int64), 1)
t3 = time.perf_counter()
print(t1 - t0, t3 - t2)
"""


def _kernels():
    if numba is None:
        return None, None
    S = coherence.STRENGTH

    @numba.njit(cache=True, nogil=True)
    def pair_dots_numba(indptr, indices, data, pairs, n_cols):
        dense = np.zeros(n_cols)
        out = np.empty(len(pairs))
        cur = -1
        for p in range(len(pairs)):
            j = pairs[p, 0]
            if j != cur:  # pairs come grouped by j: row j is scattered once per group
                if cur >= 0:
                    for k in range(indptr[cur], indptr[cur + 1]):
                        dense[indices[k]] = 0.0
                for k in range(indptr[j], indptr[j + 1]):
                    dense[indices[k]] = data[k]
                cur = j
            i = pairs[p, 1]
            s = 0.0
            for k in range(indptr[i], indptr[i + 1]):
                s += data[k] * dense[indices[k]]
            out[p] = s
        return out

    @numba.njit(inline="always")
    def common(ptr, ids, a, ptr2, ids2, b):  # sorted id lists: merge count
        x, y, n = ptr[a], ptr2[b], 0
        while x < ptr[a + 1] and y < ptr2[b + 1]:
            if ids[x] == ids2[y]:
                n += 1
                x += 1
                y += 1
            elif ids[x] < ids2[y]:
                x += 1
            else:
                y += 1
        return n

    s_i1, s_i2, s_sh, s_tm = (
        S["introduced_1"],
        S["introduced_2"],
        S["shared_number"],
        S["terms_max"],
    )
    s_adj = np.array([S["adjacent"], S["adjacent_conclusion"], S["adjacent_sequence"]])

    @numba.njit(cache=True, nogil=True)
    def coherence_numba(pairs, nptr, nids, iptr, iids, tptr, tids, cue):
        out = np.empty(len(pairs))
        for p in range(len(pairs)):
            j, i = pairs[p, 0], pairs[p, 1]
            miss = 1.0
            reused = common(nptr, nids, j, iptr, iids, i)
            if reused:
                miss *= 1.0 - (s_i2 if reused >= 2 else s_i1)
            elif common(nptr, nids, j, nptr, nids, i):
                miss *= 1.0 - s_sh
            inter = common(tptr, tids, j, tptr, tids, i)
            union = (tptr[j + 1] - tptr[j]) + (tptr[i + 1] - tptr[i]) - inter
            if union:
                miss *= 1.0 - min(s_tm, 1.5 * inter / union)
            if i == j - 1:
                miss *= 1.0 - s_adj[cue[j]]
            out[p] = 1.0 - miss
        return out

    return pair_dots_numba, coherence_numba


pair_dots_numba, coherence_numba = _kernels()


def feature_ids(features: list[coherence.StepFeatures]):
    """Step features as sorted integer id lists (CSR layout) for the numba kernel."""
    vocab: dict[str, int] = {}
    out = []
    for field in ("numbers", "introduced", "terms"):
        sets = [getattr(f, field) for f in features]
        ids = [sorted(vocab.setdefault(t, len(vocab)) for t in s) for s in sets]
        ptr = np.concatenate([[0], np.cumsum([len(x) for x in ids])]).astype(np.int64)
        out += [ptr, np.fromiter((t for x in ids for t in x), np.int64, int(ptr[-1]))]
    out.append(np.array([CUES.get(f.cue or "", 0) for f in features], dtype=np.int64))
    return out


def one_gather(csr, pairs):
    return np.asarray(csr[pairs[:, 0]].multiply(csr[pairs[:, 1]]).sum(axis=1)).ravel()


def best(fn, repeat):
    """(first call, best of `repeat` later calls): the pipeline calls each loop once per
    trace, so the first call, with its allocations (and JIT or cache load), is the one it
    pays; the later calls show the loop itself."""
    times = []
    for _ in range(repeat + 1):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times[0], min(times[1:])


def fmt(t):
    return f"{t[0]:.4f}/{t[1]:.4f} s"


def ratio(a, b):
    return f"{a[0] / b[0]:.1f}x/{a[1] / b[1]:.1f}x"


def workloads(path: str, fmt: str | None):
    """(features, pairs, csr) per trace, exactly as the lexical backend builds them."""
    cfg = AnalyzeConfig(backend="lexical")
    captured = []
    real = semantic.pair_dots
    semantic.pair_dots = lambda csr, pairs, cells=None: captured.append(csr) or real(csr, pairs)
    try:
        for _, trace in iter_traces(path, fmt):
            if isinstance(trace, Exception):
                sys.exit(f"{path}: {trace}")
            if trace.steps is not None:
                text, spans = segment_steps(trace.steps)
            else:
                text, spans = trace.reasoning, segment(trace.reasoning, cfg.segment)
            texts = [text[s:e] for s, e in spans]
            f = coherence.step_features(trace.question, texts)
            e = cfg.energy
            p = candidate_pairs([x.terms | x.numbers for x in f], e.local_window, e.long_range)
            captured.clear()
            semantic.lexical_cosine(texts, p)
            yield f, p, (captured[0] if captured else None)  # None: the dense path ran
    finally:
        semantic.pair_dots = real


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("path", nargs="?", help="Trace file (default: synthetic, see --mb).")
    ap.add_argument("--format", help="Force the input layout.")
    ap.add_argument("--mb", type=float, default=1.0, help="Size of the synthetic trace.")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.path
        if path is None:
            path = str(Path(tmp) / "huge.json")
            subprocess.run([sys.executable, str(HERE / "make_huge_trace.py"), path, "--mb",
                            str(args.mb)], check=True)  # fmt: skip
        loads = list(workloads(path, args.format))
    steps = sum(len(f) for f, _, _ in loads)
    pairs = sum(len(p) for _, p, _ in loads)
    sparse_loads = [(p, c) for _, p, c in loads if c is not None]
    print(f"{len(loads)} traces, {steps} steps, {pairs} pairs "
          f"({sum(len(p) for p, _ in sparse_loads)} on the sparse TF-IDF path)")  # fmt: skip
    r = args.repeat
    print("times: first call / best of later calls; ratios likewise")
    t_old = best(lambda: [one_gather(c, p) for p, c in sparse_loads], r)
    t_new = best(lambda: [semantic.pair_dots(c, p) for p, c in sparse_loads], r)
    t_coh = best(lambda: [coherence.coherence(f, p) for f, p, _ in loads], r)
    row = f"TF-IDF pair product  one gather {fmt(t_old)} | chunks {fmt(t_new)} ({ratio(t_old, t_new)})"
    if pair_dots_numba is None:
        print(row + " | numba not installed")
        print(f"coherence            Python {fmt(t_coh)} | numba not installed")
        return

    def tfidf_numba():
        return [
            pair_dots_numba(c.indptr, c.indices, c.data, p, c.shape[1]) for p, c in sparse_loads
        ]

    t_nb = best(tfidf_numba, r)
    for (p, c), got in zip(sparse_loads, tfidf_numba(), strict=True):
        assert np.allclose(got, one_gather(c, p))
    print(row + f" | numba {fmt(t_nb)} ({ratio(t_old, t_nb)} vs one gather, "
          f"{ratio(t_new, t_nb)} vs chunks)")  # fmt: skip
    t_ids = best(lambda: [feature_ids(f) for f, _, _ in loads], r)
    ids = [feature_ids(f) for f, _, _ in loads]
    t_cnb = best(
        lambda: [coherence_numba(p, *x) for (_, p, _), x in zip(loads, ids, strict=True)], r
    )
    for (f, p, _), x in zip(loads, ids, strict=True):
        assert np.allclose(coherence_numba(p, *x), coherence.coherence(f, p))
    both = (t_cnb[0] + t_ids[0], t_cnb[1] + t_ids[1])
    print(f"coherence            Python {fmt(t_coh)} | numba {fmt(t_cnb)} + ids {fmt(t_ids)} "
          f"({ratio(t_coh, both)} with the conversion, {ratio(t_coh, t_cnb)} without)")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", FIXED_COST.format(here=str(HERE))],
                         capture_output=True, text=True, check=True).stdout.split()  # fmt: skip
    imp, first = map(float, out)
    print(f"numba fixed cost per process: import {imp:.3f} s + first call from cache {first:.3f} s "
          f"= {imp + first:.3f} s")  # fmt: skip


if __name__ == "__main__":
    main()
