"""Structure comparison of molecules, at two levels.

Same text (two readings of one trace: two backends, teacher vs student reader):
`compare_molecules` aligns the steps by character span and compares the bonds pair by pair.
Different texts (teacher vs student answers, two datasets): `compare_datasets` compares
distributions (bond types, step roles, role transitions) with the Jensen-Shannon distance.
Both return pydantic models, so `model_dump_json()` is the JSON output of `bondkd compare`.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from numpy.typing import ArrayLike
from pydantic import BaseModel, ConfigDict, Field

from bondkd.errors import InputError
from bondkd.measure.stats import DatasetStats, row_normalise
from bondkd.molecule.molecule import Molecule
from bondkd.read.files import iter_records
from bondkd.read.formats import RecordError
from bondkd.read.inputs import molecule_doc
from bondkd.schema import BOND_TYPES, ROLES, MoleculeDoc

NONE = "none"  # the label of a pair with no bond
LABELS: tuple[str, ...] = (NONE, *BOND_TYPES)
_LABEL = {k: i for i, k in enumerate(LABELS)}
Pair = tuple[int, int]  # (source, target) = (later step, earlier step), in a's step indices


class _Result(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MoleculeComparison(_Result):
    """Two molecules of the same reasoning text; `a` is the reference."""

    id_a: str = Field(description="Reference molecule id.")
    id_b: str = Field(description="Compared molecule id.")
    steps_a: int = Field(description="Steps of a.")
    steps_b: int = Field(description="Steps of b.")
    same_segmentation: bool = Field(description="Both molecules have exactly the same spans.")
    aligned_steps: int = Field(description="Steps of b mapped one-to-one onto steps of a.")
    bonds_a: int = Field(description="Bonds of a between aligned steps (the ones compared).")
    bonds_b: int = Field(description="Bonds of b between aligned steps (the ones compared).")
    type_agreement: float | None = Field(description="Same label, no bond = 'none', over U.")
    kappa: float | None = Field(description="Cohen's kappa over U (pairs bonded in either).")
    edge_precision: float | None = Field(description="|A∩B| / |B|, ignoring type.")
    edge_recall: float | None = Field(description="|A∩B| / |A|, ignoring type.")
    edge_f1: float | None = Field(description="2|A∩B| / (|A| + |B|), ignoring type.")
    typed_f1: float | None = Field(description="edge_f1 counting a bond only if types match.")
    shared_bonds: int = Field(description="Pairs bonded in both (any type).")
    energy_spearman: float | None = Field(
        description="Spearman rho of shared bond energies. Secondary: distance alone scores "
        "high (see energy_spearman_recency); energy_spearman_net is the headline."
    )
    energy_spearman_recency: float | None = Field(
        description="The baseline beside energy_spearman: Spearman rho of a's shared bond "
        "energies with minus the distance (source − target), what a reader that knows only "
        "how far back a step is would score."
    )
    energy_spearman_net: float | None = Field(
        description="The same net of distance: ranked among shared bonds of one source-target "
        "distance (`spearman_within`), so how far back bonds reach counts for nothing."
    )
    confusion: dict[str, dict[str, int]] = Field(description="[label in a][label in b] over U.")
    bond_counts_a: dict[str, int] = Field(description="All bonds of a by type.")
    bond_counts_b: dict[str, int] = Field(description="All bonds of b by type.")


class DatasetSide(_Result):
    molecules: int = Field(description="Molecules on this side.")
    bond_counts: dict[str, int] = Field(description="All bonds by type.")
    bond_distribution: dict[str, float] = Field(description="Bond counts normalised (0 if none).")
    role_counts: dict[str, int] = Field(description="All steps by role.")
    role_distribution: dict[str, float] = Field(description="Role counts normalised.")
    transition_counts: list[list[int]] = Field(description="counts[r][s]: role r -> role s.")
    transition_probabilities: list[list[float]] = Field(description="Rows normalised.")


class DatasetComparison(_Result):
    """Distances are Jensen-Shannon distances, base 2: 0 = same distribution, 1 = disjoint."""

    roles: list[str] = Field(default=list(ROLES), description="Row/column order of matrices.")
    bond_types: list[str] = Field(default=list(BOND_TYPES), description="Bond type order.")
    a: DatasetSide = Field(description="First dataset (e.g. teacher).")
    b: DatasetSide = Field(description="Second dataset (e.g. student).")
    bond_type_js: float = Field(description="JS distance between bond-type distributions.")
    role_js: float = Field(description="JS distance between step-role distributions.")
    transition_js: float = Field(description="Row JS distances weighted by pooled row counts.")
    transition_row_js: dict[str, float | None] = Field(description="Null: row empty on both.")


def js_distance(p: Iterable[float], q: Iterable[float]) -> float:
    """Jensen-Shannon distance, base 2, between two non-negative weight vectors.

        P = p / sum(p),  Q = q / sum(q),  M = (P + Q) / 2
        JSD = 1/2 sum_i P_i log2(P_i / M_i) + 1/2 sum_i Q_i log2(Q_i / M_i)   (0 log 0 = 0)
        distance = sqrt(JSD), in [0, 1]

    Same as `scipy.spatial.distance.jensenshannon(p, q, base=2)` for non-empty inputs.
    All-zero inputs, where scipy gives NaN: 0 when both are all zero (nothing differs),
    1 when exactly one is (nothing is shared, like disjoint supports).
    """
    pa, qa = np.asarray(list(p), dtype=float), np.asarray(list(q), dtype=float)
    if pa.shape != qa.shape or pa.ndim != 1:
        raise ValueError(f"js_distance needs two vectors of one length, got {pa.shape}, {qa.shape}")
    if (pa < 0).any() or (qa < 0).any() or not (np.isfinite(pa).all() and np.isfinite(qa).all()):
        raise ValueError("js_distance needs finite non-negative weights")
    sp, sq = pa.sum(), qa.sum()
    if sp == 0 or sq == 0:
        return 0.0 if sp == sq else 1.0
    pa, qa = pa / sp, qa / sq
    m = (pa + qa) / 2
    jsd = 0.5 * _kl(pa, m) + 0.5 * _kl(qa, m)
    # rounding can leave a tiny negative (identical inputs) or a hair above 1 (disjoint)
    return float(np.sqrt(min(max(jsd, 0.0), 1.0)))


def _kl(p: np.ndarray, m: np.ndarray) -> float:
    nz = p > 0  # 0 log 0 = 0; where p > 0, m >= p / 2 > 0, so the log is finite
    return float(np.sum(p[nz] * np.log2(p[nz] / m[nz])))


def _ranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks, ties given their average rank (as Spearman's rho requires)."""
    _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    last = np.cumsum(counts)  # rank of the last copy of each distinct value
    return (last - (counts - 1) / 2)[inverse]  # mean of ranks last - counts + 1 .. last


def spearman(x: Iterable[float], y: Iterable[float]) -> float | None:
    """Spearman's rho = Pearson correlation of the (tie-averaged) ranks:

        rho = sum (rx - mean rx)(ry - mean ry) / sqrt(sum (rx - mean)^2 * sum (ry - mean)^2)

    None (JSON null, not NaN) with fewer than 3 points or when either side is constant."""
    xa = list(x)
    return spearman_within(xa, y, [0] * len(xa))


def spearman_within(
    x: Iterable[float], y: Iterable[float], groups: Iterable[object]
) -> float | None:
    """Spearman's rho net of a grouping (e.g. step pairs at the same distance): ranks are
    taken and centred within each group g, then pooled,

        rho_w = sum_g sum (rx - mean_g rx)(ry - mean_g ry)
                / sqrt(sum_g sum (rx - mean_g rx)^2 * sum_g sum (ry - mean_g ry)^2),

    so anything that depends on the group alone (how far back a step is) ranks nothing
    and counts nothing. One group: `spearman`. None when fewer than 3 points share a
    group with another, or when either side is constant within every group."""
    xa, ya = np.asarray(list(x), dtype=float), np.asarray(list(y), dtype=float)
    _, g, counts = np.unique(np.asarray(list(groups)), return_inverse=True, return_counts=True)
    if not len(xa) == len(ya) == len(g):
        raise ValueError(f"x, y and groups differ in length: {len(xa)}, {len(ya)}, {len(g)}")
    rx, ry = np.zeros(len(xa)), np.zeros(len(ya))
    for k, size in enumerate(counts):
        at = g == k
        rx[at] = _ranks(xa[at]) - (size + 1) / 2
        ry[at] = _ranks(ya[at]) - (size + 1) / 2
    sx, sy = np.sum(rx**2), np.sum(ry**2)
    if np.sum(counts[g] > 1) < 3 or sx == 0 or sy == 0:
        return None
    return float(np.clip(np.sum(rx * ry) / np.sqrt(sx * sy), -1.0, 1.0))


def align_steps(a: MoleculeDoc, b: MoleculeDoc) -> dict[int, int]:
    """{step index in b: step index in a}, one-to-one.

    Identical spans map 1:1. Otherwise each step of b goes to the step of a it overlaps most
    (overlap = min(end) - max(start) > 0; ties to the earlier step). When several steps of b
    land on one step of a (b cut finer), only the one overlapping it most is kept: a pair of
    b must be one pair of a, or bonds inside a step would be compared as if between steps.
    """
    if a.reasoning != b.reasoning:
        raise ValueError(
            f"compare_molecules needs two molecules of the same reasoning text; "
            f"{a.id!r} and {b.id!r} differ (use compare_datasets([a], [b]) for different texts)"
        )
    if _spans(a) == _spans(b):
        return {sb.index: sa.index for sa, sb in zip(a.steps, b.steps, strict=True)}
    if not a.steps:
        return {}
    starts = np.array([s.start for s in a.steps])
    ends = np.array([s.end for s in a.steps])
    best: dict[int, tuple[int, int]] = {}  # a index -> (overlap, b index)
    for s in b.steps:
        overlap = np.minimum(ends, s.end) - np.maximum(starts, s.start)
        k = int(np.argmax(overlap))
        got, ia = int(overlap[k]), a.steps[k].index
        if got > 0 and (ia not in best or got > best[ia][0]):
            best[ia] = (got, s.index)
    return {ib: ia for ia, (_, ib) in best.items()}


def _spans(doc: MoleculeDoc) -> list[tuple[int, int]]:
    return [(s.start, s.end) for s in doc.steps]


def _bond_map(doc: MoleculeDoc, keep: dict[int, int]) -> dict[Pair, tuple[str, float]]:
    """{(source, target) in a's indices: (type, energy)} for bonds between aligned steps."""
    out: dict[Pair, tuple[str, float]] = {}
    for bond in doc.bonds:
        if bond.source in keep and bond.target in keep:
            pair = (keep[bond.source], keep[bond.target])
            if pair not in out or bond.energy > out[pair][1]:  # a duplicate pair: the strongest
                out[pair] = (bond.type, bond.energy)
    return out


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


def compare_molecules(a: MoleculeDoc, b: MoleculeDoc) -> MoleculeComparison:
    """Compare b's bonds with a's (the reference) on the steps they share.

    Over U = pairs bonded in a or in b (pairs bonded in neither would swamp every score):
        type_agreement = p_o = #{pairs with label_a = label_b} / |U|   (label 'none' if absent)
        kappa = (p_o - p_e) / (1 - p_e),  p_e = sum_k (n_a(k) / |U|) (n_b(k) / |U|)
        kappa = 1 when p_e = 1 (both use one and the same label, so p_o = 1 too)
    With A, B the bonded pairs: precision = |A∩B| / |B|, recall = |A∩B| / |A|,
    edge_f1 = 2|A∩B| / (|A| + |B|); typed_f1 is the same with A∩B limited to equal types.
    Every ratio is None when its denominator is 0. Energies of A∩B: `spearman_within`
    grouped by distance (source − target), the headline with type_agreement; the plain
    `spearman`, and beside it the same for a recency-only reader (energy = −distance).
    """
    mapping = align_steps(a, b)
    keep_a = {ia: ia for ia in mapping.values()}
    ba, bb = _bond_map(a, keep_a), _bond_map(b, mapping)
    union = sorted(ba.keys() | bb.keys())
    conf = np.zeros((len(LABELS), len(LABELS)), dtype=np.int64)
    for pair in union:
        conf[_LABEL[ba.get(pair, (NONE,))[0]], _LABEL[bb.get(pair, (NONE,))[0]]] += 1
    n, agree = len(union), int(np.trace(conf))
    kappa: float | None = None
    if n:
        p_o, p_e = agree / n, float(conf.sum(axis=1) @ conf.sum(axis=0)) / n**2
        kappa = 1.0 if p_e == 1 else (p_o - p_e) / (1 - p_e)
    table = {la: dict(zip(LABELS, conf[i].tolist(), strict=True)) for i, la in enumerate(LABELS)}
    shared = sorted(ba.keys() & bb.keys())
    typed = sum(ba[p][0] == bb[p][0] for p in shared)
    both = len(ba) + len(bb)
    energy_a, energy_b = [ba[p][1] for p in shared], [bb[p][1] for p in shared]
    return MoleculeComparison(
        id_a=a.id,
        id_b=b.id,
        steps_a=len(a.steps),
        steps_b=len(b.steps),
        same_segmentation=_spans(a) == _spans(b),
        aligned_steps=len(mapping),
        bonds_a=len(ba),
        bonds_b=len(bb),
        type_agreement=_ratio(agree, n),
        kappa=kappa,
        edge_precision=_ratio(len(shared), len(bb)),
        edge_recall=_ratio(len(shared), len(ba)),
        edge_f1=_ratio(2 * len(shared), both),
        typed_f1=_ratio(2 * typed, both),
        shared_bonds=len(shared),
        energy_spearman=spearman(energy_a, energy_b),
        energy_spearman_recency=spearman(energy_a, [t - s for s, t in shared]),
        energy_spearman_net=spearman_within(energy_a, energy_b, [s - t for s, t in shared]),
        confusion=table,
        bond_counts_a=Molecule(a).bond_counts(),
        bond_counts_b=Molecule(b).bond_counts(),
    )


def dataset_side(docs: Iterable[MoleculeDoc]) -> DatasetSide:
    """Totals over one pass of `docs` (a generator is fine)."""
    st = DatasetStats()  # the accumulator `bondkd report` uses: same counts, one pass
    for doc in docs:
        st.add(doc, accepted=None)
    return side_of(st)


def side_of(st: DatasetStats) -> DatasetSide:
    return side_from_counts(
        st.n,
        {t: st.bonds.get(t, 0) for t in BOND_TYPES},
        {r: st.roles.get(r, 0) for r in ROLES},
        st.transitions,
    )


def side_from_counts(
    n: int, bond_counts: dict[str, int], role_counts: dict[str, int], transitions: ArrayLike
) -> DatasetSide:
    """A side from its counts: what a set of molecules and a target structure share."""
    bc: dict[str, int] = {t: int(bond_counts.get(t, 0)) for t in BOND_TYPES}
    rc: dict[str, int] = {r: int(role_counts.get(r, 0)) for r in ROLES}
    counts = np.asarray(transitions, dtype=np.int64)
    return DatasetSide(
        molecules=n,
        bond_counts=bc,
        bond_distribution={k: v / (sum(bc.values()) or 1) for k, v in bc.items()},
        role_counts=rc,
        role_distribution={k: v / (sum(rc.values()) or 1) for k, v in rc.items()},
        transition_counts=counts.tolist(),
        transition_probabilities=row_normalise(counts).tolist(),
    )


def compare_datasets(a: Iterable[MoleculeDoc], b: Iterable[MoleculeDoc]) -> DatasetComparison:
    """Distribution distances between two sets of molecules of any texts (`compare_sides`)."""
    return compare_sides(dataset_side(a), dataset_side(b))


def compare_sides(sa: DatasetSide, sb: DatasetSide) -> DatasetComparison:
    """Distribution distances between two sides (molecule sets, or a target structure).

    Row-wise transitions, with c_a(r), c_b(r) the transitions out of role r on each side:
        transition_js = sum_r w_r JS(T_a[r], T_b[r]) / sum_r w_r,   w_r = c_a(r) + c_b(r)
    so a role seldom left weighs little; rows with w_r = 0 are skipped (0 if all are).
    A row empty on one side only has distance 1 (see `js_distance`).
    """
    ta, tb = np.array(sa.transition_counts), np.array(sb.transition_counts)
    rows: dict[str, float | None] = {}
    num = den = 0.0
    for i, role in enumerate(ROLES):
        w = float(ta[i].sum() + tb[i].sum())
        rows[role] = js_distance(ta[i], tb[i]) if w else None
        num, den = num + w * (rows[role] or 0.0), den + w
    return DatasetComparison(
        a=sa,
        b=sb,
        bond_type_js=js_distance(sa.bond_counts.values(), sb.bond_counts.values()),
        role_js=js_distance(sa.role_counts.values(), sb.role_counts.values()),
        transition_js=num / den if den else 0.0,
        transition_row_js=rows,
    )


def load_molecules(path: str) -> list[MoleculeDoc]:
    """Molecule documents from a .json file (one object or an array) or JSONL, as written by
    `bondkd analyze --json`. The first bad record raises InputError(path, line, field, ...)
    with pydantic's error location joined by dots as the field."""

    def parse(obj: object, **_: object) -> MoleculeDoc:
        # a trace (neither key): say what to do; a broken molecule gets pydantic's field
        if isinstance(obj, dict) and not {"schema_version", "bonds"} & obj.keys():
            raise RecordError(None, "not a molecule document (run `bondkd analyze --json`)")
        return molecule_doc(obj)  # type: ignore[arg-type]  # a non-dict fails validation

    docs: list[MoleculeDoc] = []
    for _line, item in iter_records(str(path), parse):
        if isinstance(item, InputError):
            raise item
        docs.append(item)
    return docs
