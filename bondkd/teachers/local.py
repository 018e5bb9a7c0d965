"""Local teachers for offline use: llama.cpp over a GGUF (the packaged SmolLM2 for
"local") and a transformers causal LM (HF id or local directory).

Both run one generation at a time behind a lock: the model holds one KV cache (llama.cpp)
or would only thrash the CPU cores (torch), so concurrency would not speed them up.
llama.cpp constrains the reply with a grammar built from `request.json_schema`; the
transformers backend has no constraint and relies on the prompt.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import threading
import time
import weakref
from pathlib import Path
from typing import Any

from bondkd.teachers.base import ChatReply, ChatRequest
from bondkd.teachers.errors import TeacherError

_WEIGHTS = (".safetensors", ".bin", ".gguf", ".pt", ".pth")


def weights_stamp(path: Path) -> str:
    """ "@" + a short hash of the name, size and mtime of the weight files at `path` (a
    file or a model directory), "" for anything else (an HF id). It goes into the teacher's
    `cache_id`, so the request cache, keyed by it, never answers for weights rewritten in
    place (a student retrained into the same directory)."""
    files = [path] if path.is_file() else sorted(path.glob("*")) if path.is_dir() else []
    stats = [(f.name, f.stat().st_size, f.stat().st_mtime_ns)
             for f in files if f.is_file() and f.name.endswith(_WEIGHTS)]  # fmt: skip
    return "@" + hashlib.sha256(repr(stats).encode()).hexdigest()[:12] if stats else ""


class LlamaCppTeacher:
    def __init__(self, gguf: str | os.PathLike[str], *, id_prefix: str = "llama.cpp",
                 n_ctx: int = 4096) -> None:  # fmt: skip
        path = Path(gguf).expanduser()
        if not path.is_file():
            raise TeacherError(f"{path}: no such GGUF file", fatal=True)
        try:
            from llama_cpp import Llama
        except ImportError:
            raise TeacherError(
                "llama-cpp-python is not installed (pip install 'bondkd[server]')", fatal=True
            ) from None
        self.path = path
        self.id = f"{id_prefix}:{path.name}"
        self.cache_id = self.id + weights_stamp(path)
        # llama.cpp prints its load log on fd 2 even with verbose=False on some builds
        try:
            with _quiet():
                self.llm = Llama(
                    model_path=str(path), n_ctx=n_ctx, n_threads=_threads(), verbose=False
                )
        except (ValueError, RuntimeError) as e:
            raise TeacherError(f"{path}: cannot load GGUF: {e}", fatal=True) from None
        # Freed before interpreter teardown: llama.cpp's own __del__ fails once the
        # ctypes bindings are gone, printing a traceback at every exit.
        weakref.finalize(self, self.llm.close)
        self._lock = threading.Lock()

    def chat(self, request: ChatRequest) -> ChatReply:
        kwargs: dict[str, Any] = {
            "messages": request.messages,
            "temperature": request.temperature,
            "max_tokens": request.max_tokens,
            "seed": request.seed,
            # llama.cpp's classic default: the 135M model otherwise loops ("10% of 10 is 10, ...")
            "repeat_penalty": 1.1,
        }
        if request.json_schema is not None:
            kwargs["response_format"] = {"type": "json_object", "schema": request.json_schema}
        with self._lock:  # latency counts the model's time, not the wait for the lock
            start = time.monotonic()
            try:
                out: Any = self.llm.create_chat_completion(**kwargs)
            except Exception as e:  # e.g. prompt longer than n_ctx: this request only
                raise TeacherError(f"{self.id}: {type(e).__name__}: {e}") from e
        msg = out["choices"][0]["message"]
        usage = {k: int(v) for k, v in (out.get("usage") or {}).items() if isinstance(v, int)}
        return ChatReply(
            text=msg.get("content") or "",
            model=self.id,
            usage=usage,
            latency_s=time.monotonic() - start,
        )


class TransformersTeacher:
    def __init__(self, name: str) -> None:
        from bondkd.energy.models import load_causal_lm

        self.lm = load_causal_lm(name)
        self.id = f"transformers:{self.lm.model_id}"
        self.cache_id = self.id + weights_stamp(Path(name).expanduser())
        self._lock = threading.Lock()

    def chat(self, request: ChatRequest) -> ChatReply:
        import torch

        tok, model = self.lm.tokenizer, self.lm.model
        if getattr(tok, "chat_template", None) is None:
            raise TeacherError(f"{self.id}: the tokenizer has no chat template", fatal=True)
        with self._lock:
            start = time.monotonic()
            ids = tok.apply_chat_template(
                request.messages, add_generation_prompt=True, return_tensors="pt"
            )
            if not isinstance(ids, torch.Tensor):  # newer transformers return a BatchEncoding
                ids = ids["input_ids"]
            if request.seed is not None:
                torch.manual_seed(request.seed)
            sample = request.temperature > 0
            with torch.no_grad():
                out = model.generate(
                    ids,
                    attention_mask=torch.ones_like(ids),
                    max_new_tokens=request.max_tokens,
                    do_sample=sample,
                    temperature=request.temperature if sample else None,
                    top_p=None,
                    top_k=None,
                    pad_token_id=tok.pad_token_id or tok.eos_token_id,
                )
        new = out[0, ids.shape[1] :]
        return ChatReply(
            text=tok.decode(new, skip_special_tokens=True),
            model=self.id,
            usage={"prompt_tokens": int(ids.shape[1]), "completion_tokens": int(new.shape[0])},
            latency_s=time.monotonic() - start,
        )


def _threads() -> int:
    """Half the logical CPUs, as llama-cpp-python itself defaults to: one per physical
    core. ggml's threads spin while they wait for each other, so on a shared machine every
    extra thread costs far more than it brings (measured with 2 logical CPUs under load:
    1 thread 4.9 tok/s, 2 threads 1.4 tok/s)."""
    return max(1, (os.cpu_count() or 2) // 2)


@contextlib.contextmanager
def _quiet() -> Any:
    """Silence C-level writes to stderr (llama.cpp's model-load log) for one block."""
    try:
        fd = os.dup(2)
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "w") as null, contextlib.redirect_stderr(io.StringIO()):
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(fd, 2)
        os.close(fd)
