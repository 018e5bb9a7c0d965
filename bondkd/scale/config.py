"""Which engine runs a command, and how a Ray run is cut and placed."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


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
