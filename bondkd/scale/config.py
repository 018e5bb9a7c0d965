"""Which engine runs a command, and how a Ray run is cut and placed."""

from __future__ import annotations

import argparse
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bondkd.errors import BondkdError


class EngineConfig(BaseModel):
    """`--engine ray` and its options; the defaults run on this machine."""

    model_config = ConfigDict(extra="forbid")

    engine: Literal["local", "ray"] = Field(
        default="local", description="local: this process (and --workers); ray: Ray Data."
    )
    address: str | None = Field(
        default=None,
        description="Ray cluster to join ('auto' inside one, ray://host:10001); "
        "None starts a local Ray instance for the run.",
    )
    num_cpus: int | None = Field(
        default=None, ge=1, description="CPUs of a local Ray instance (None: all)."
    )
    num_gpus_per_actor: float = Field(
        default=0.0, ge=0.0, description="GPUs each model actor holds (model backend)."
    )
    actors: int | None = Field(
        default=None, ge=1, description="Model actors in the pool (None: one per CPU, or per GPU)."
    )
    chunk_lines: int = Field(
        default=1024,
        ge=1,
        description="Input lines per Ray task; rounded up to a multiple of the batch, so "
        "the models see the batches a local run makes.",
    )
    shuffle: Literal["sort", "hash"] = Field(
        default="sort",
        description="Ray Data shuffle of the gate's index groupbys: sort (tasks; quick to "
        "start) or hash (aggregator actors; for inputs of millions of records).",
    )


def add_engine_args(p: argparse.ArgumentParser) -> None:
    """`--engine ray` and its options, one flag per `EngineConfig` field (docs/scale.md)."""
    g = p.add_argument_group("engine")
    g.add_argument("--engine", choices=["local", "ray"], default="local",
                   help="local (default), or ray: run on a Ray cluster (pip install 'bondkd[ray]').")  # fmt: skip
    g.add_argument("--address", help="Ray cluster address ('auto' inside a cluster; default: "
                   "start a local Ray instance for the run).")  # fmt: skip
    g.add_argument("--num-cpus", type=int, help="CPUs of the local Ray instance (default: all).")
    g.add_argument("--num-gpus-per-actor", type=float, default=0.0,
                   help="GPUs per model actor (model backend).")  # fmt: skip
    g.add_argument("--actors", type=int, help="Model actors (default: one per CPU or GPU).")
    g.add_argument("--chunk-lines", type=int, default=1024, help="Input lines per Ray task.")


def engine_config(args: argparse.Namespace) -> EngineConfig:
    """The `EngineConfig` of parsed `add_engine_args` flags; a bad value is a one-line error."""
    try:
        return EngineConfig(engine=args.engine, address=args.address, num_cpus=args.num_cpus,
                            num_gpus_per_actor=args.num_gpus_per_actor, actors=args.actors,
                            chunk_lines=args.chunk_lines)  # fmt: skip
    except ValidationError as e:
        err = e.errors()[0]
        raise BondkdError(f"--{str(err['loc'][0]).replace('_', '-')}: {err['msg']}") from None
