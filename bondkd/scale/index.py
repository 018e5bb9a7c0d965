"""The gate's whole-file index (`gate.index`) built with Ray groupbys, never on the driver.

From the index entries of pass 1 (`gate.runner.index_entry`, one per readable record):

1. group by the exact-text digest: each record learns the first line of its text;
2. group by the consensus key: each record gets the (answer, vote weight) of the other
   records of its group, exact copies counted once, as `DatasetIndex.others` gives them;
3. one row per MinHash band, grouped by (band, band values): each record that is not
   the first of a bucket gets that first record and their MinHash similarity, as
   `DatasetIndex.duplicate_of` compares them.

Each result row carries the chunk its line belongs to, so pass 2 groups it with that
chunk (`scale.gate`), and a chunk's records are judged against a `ViewIndex` of just
their own rows. Rows within a group are put in line order first, so every sum runs in
the local order and the floats agree bit for bit.
"""

from __future__ import annotations

import bisect
import json
import zlib
from typing import Any

import numpy as np

from bondkd.gate.index import _BANDS, _ROWS, Entry
from bondkd.schema import Trace


def part(key: str, parts: int) -> int:
    """The shuffle partition of a group key: stable across processes (not `hash`)."""
    return zlib.crc32(key.encode()) % parts


def entry_row(e: Entry, parts: int) -> dict[str, Any]:
    data = {"l": e.line, "id": e.rid, "a": e.answer, "w": e.weight, "d": e.digest,
            "k": e.key or "", "s": e.sig.tolist()}  # fmt: skip
    return {"part": part(e.digest, parts), "data": json.dumps(data)}


# Each groupby shuffles on a coarse partition of its key and groups by the key itself
# inside the partition: most digests and band buckets hold one record, and a Ray
# map_groups call per group costs far more than the grouping.
def _groups(batch: dict[str, Any], field: str) -> list[list[dict]]:
    by: dict[str, list[dict]] = {}
    for d in batch["data"]:
        r = json.loads(str(d))
        by.setdefault(r[field], []).append(r)
    return [sorted(rows, key=lambda r: r["l"]) for rows in by.values()]


def first_of_digest(batch: dict[str, Any], parts: int) -> dict[str, list]:
    out: dict[str, list] = {"part": [], "data": []}
    for rows in _groups(batch, "d"):
        first = rows[0]
        for r in rows:
            r["fl"], r["fid"] = first["l"], first["id"]
            out["part"].append(part(r["k"], parts))
            out["data"].append(json.dumps(r))
    return out


def consensus(batch: dict[str, Any], starts: list[int]) -> dict[str, list]:
    """Per record: its vote weight, the others of its group, and its exact original."""
    out: dict[str, list] = {"chunk": [], "kind": [], "data": []}
    for rows in _groups(batch, "k"):
        keyed = rows[0]["k"] != ""
        for r in rows:
            others = [[o["a"], o["w"]] for o in rows
                      if o["l"] != r["l"] and o["d"] != r["d"] and o["fl"] == o["l"]] if keyed else []  # fmt: skip
            exact = [r["fl"], r["fid"]] if r["fl"] < r["l"] else None
            out["chunk"].append(chunk_of(r["l"], starts))
            out["kind"].append("ann")
            out["data"].append(json.dumps({"l": r["l"], "w": r["w"], "o": others, "x": exact}))
    return out


def bands(batch: dict[str, Any], parts: int) -> dict[str, list]:
    out: dict[str, list] = {"part": [], "data": []}
    for d in batch["data"]:
        r = json.loads(str(d))
        sig = np.array(r["s"], dtype=np.uint64)
        for b in range(_BANDS):
            bucket = f"{b}:{sig[b * _ROWS : (b + 1) * _ROWS].tobytes().hex()}"
            out["part"].append(part(bucket, parts))
            out["data"].append(json.dumps({"b": bucket, "l": r["l"], "id": r["id"], "s": r["s"]}))
    return out


def near(batch: dict[str, Any], starts: list[int]) -> dict[str, list]:
    """Every record of a bucket but its first, with the first and their similarity."""
    out: dict[str, list] = {"chunk": [], "kind": [], "data": []}
    for rows in _groups(batch, "b"):
        first = rows[0]
        sig = np.array(first["s"], dtype=np.uint64)
        for r in rows[1:]:
            sim = float(np.mean(sig == np.array(r["s"], dtype=np.uint64)))
            out["chunk"].append(chunk_of(r["l"], starts))
            out["kind"].append("near")
            out["data"].append(json.dumps({"l": r["l"], "n": [first["l"], first["id"], sim]}))
    return out


def chunk_of(line: int, starts: list[int]) -> int:
    return bisect.bisect_right(starts, line) - 1


class ViewIndex:
    """The index as one chunk's records see it: what the checks ask `DatasetIndex`."""

    def __init__(self, views: dict[int, dict]):
        self.views = views
        self.weights = {line: v["w"] for line, v in views.items() if "w" in v}

    def others(self, line: int, record: dict, trace: Trace) -> list[tuple[float | None, float]]:
        return [(a, w) for a, w in self.views.get(line, {}).get("o", [])]

    def duplicate_of(self, line: int, near: float) -> tuple[str, int, str, float] | None:
        v = self.views.get(line, {})
        if v.get("x"):
            first, rid = v["x"]
            return "exact", first, rid, 1.0
        best: tuple[str, int, str, float] | None = None
        for cand, rid, sim in v.get("n", []):
            if sim >= near and (best is None or cand < best[1]):
                best = ("near", cand, rid, sim)
        return best


def views(kinds: list[str], datas: list[str]) -> tuple[dict | None, dict[int, dict]]:
    """(the chunk's descriptor, its records' views) from one pass-2 group."""
    chunk = None
    out: dict[int, dict] = {}
    for kind, data in zip(kinds, datas, strict=True):
        d = json.loads(data)
        if kind == "chunk":
            chunk = d
        elif kind == "ann":
            out.setdefault(d["l"], {}).update(w=d["w"], o=d["o"], x=d["x"])
        else:
            out.setdefault(d["l"], {}).setdefault("n", []).append(d["n"])
    return chunk, out


def index_rows(entries: Any, starts: list[int], parts: int, blocks: int) -> Any:
    """The annotation rows (chunk, kind, data) of every indexed record, as a dataset;
    each groupby's input is cut into `blocks` blocks (`cluster.shuffle_blocks`) and
    shuffled into `parts` partitions."""

    def grouped(ds: Any, fn: Any, arg: Any) -> Any:
        return (
            ds.repartition(blocks)
            .groupby("part", num_partitions=parts)
            .map_groups(fn, batch_format="numpy", fn_args=(arg,))
        )

    by_digest = grouped(entries, first_of_digest, parts).materialize()  # read twice below
    ann = grouped(by_digest, consensus, starts)
    band_rows = by_digest.map_batches(bands, batch_format="numpy", fn_args=(parts,))
    return ann.union(grouped(band_rows, near, starts))
