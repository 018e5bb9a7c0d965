"""Joining or starting a Ray instance for one run, and leaving it as it was found."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from typing import Any

from bondkd.read.tables import need
from bondkd.scale.config import EngineConfig


def ray_module() -> Any:
    return need("ray", "ray", "--engine ray")


@contextlib.contextmanager
def connected(engine: EngineConfig) -> Iterator[Any]:
    """`ray` with a cluster to run on: the one named by `engine.address`, one already
    initialised in this process (the Python API inside a Ray job), or a local instance
    started here and shut down at the end."""
    ray = ray_module()
    need("ray.data", "ray", "--engine ray")
    for name in ("ray", "ray.data"):  # Ray's start-up and execution chatter: not ours to print
        logging.getLogger(name).setLevel(logging.ERROR)
    # The driver's C++ core logs to stderr past Python's logging (a warning-level note on
    # every model actor pool); failures still arrive as exceptions. Set it to see them.
    os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")
    started = False
    if not ray.is_initialized():
        # Workers import bondkd from wherever this process found it.
        env = {"env_vars": {"OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}}
        ray.init(address=engine.address, num_cpus=engine.num_cpus if engine.address is None
                 else None, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR,
                 configure_logging=False, runtime_env=env)  # fmt: skip
        started = True
    ctx = ray.data.DataContext.get_current()
    ctx.execution_options.preserve_order = True  # outputs come back in input order
    ctx.enable_progress_bars = False
    # Ray's default hash shuffle starts 200 aggregator actors per groupby (tens of seconds
    # on a small input); the sort shuffle runs as tasks. `shuffle = "hash"` for huge runs.
    ctx.shuffle_strategy = {"sort": "sort_shuffle_pull_based", "hash": "hash_shuffle"}[
        engine.shuffle
    ]
    ctx.print_on_execution_start = False
    with contextlib.suppress(AttributeError):
        ctx.enable_rich_progress_bars = False
    os.environ.setdefault("RAY_DATA_DISABLE_PROGRESS_BARS", "1")
    try:
        yield ray
    finally:
        if started:
            ray.shutdown()


def cpus(ray: Any) -> int:
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


def shuffle_blocks(ray: Any, parts: int) -> int:
    """How many blocks a groupby's input is cut into. Ray's sort shuffle splits every
    input block into one piece per output block (as many as input blocks), and the driver
    owns each piece, holding the small ones in its own memory: an input of M blocks costs
    M² objects there, so one block per chunk made the driver grow with the square of the
    input (docs/benchmarks.md). `parts` (one per ~20,000 records) keeps a block's rows
    bounded, at least a few blocks per CPU keep every CPU busy, and at most 256 keep the
    pieces (65,536 per shuffle) large enough for the object store, not the driver."""
    return max(2, min(256, max(parts, 4 * cpus(ray))))


def pool(ray: Any, engine: EngineConfig, model: bool) -> dict[str, Any]:
    """map_batches arguments: plain tasks for the lexical backend, an actor pool (models
    loaded once per actor) for the model backend."""
    if not model:
        return {"num_cpus": 1}
    size = engine.actors
    if size is None:
        gpus = int(ray.cluster_resources().get("GPU", 0))
        per = engine.num_gpus_per_actor
        size = max(1, int(gpus / per)) if per > 0 and gpus else cpus(ray)
    args: dict[str, Any] = {"concurrency": size, "num_cpus": 1}
    if engine.num_gpus_per_actor:
        args["num_gpus"] = engine.num_gpus_per_actor
    return args
