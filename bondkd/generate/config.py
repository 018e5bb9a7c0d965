"""`GenerateConfig`: every knob of `bondkd generate`, with its default, range and help.

The CLI flags map one to one onto these fields (`--tags-per-level` → `tags_per_level`),
so the help text lives here once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from bondkd.teachers.base import ClientConfig
from bondkd.teachers.prompts import TEMPLATES


class GenerateConfig(ClientConfig):
    out: Path = Field(description="Traces are written here (canonical JSONL).")
    topic: str | None = Field(default=None, description="Build a tag tree under this topic.")
    questions: Path | None = Field(
        default=None, description="Answer the questions in this JSONL file instead of a topic."
    )
    levels: int = Field(default=2, ge=1, le=4, description="Depth of the tag tree.")
    tags_per_level: int = Field(default=10, ge=1, le=50, description="Child tags per tag.")
    questions_per_tag: int = Field(default=5, ge=1, le=50, description="Questions per leaf tag.")
    samples: int = Field(default=1, ge=1, le=64, description="Answers per question.")
    temperature: float = Field(
        default=0.2, ge=0.0, le=2.0, description="Temperature of the first answer to a question."
    )
    sample_temperature: float = Field(
        default=0.8, ge=0.0, le=2.0, description="Temperature of the other --samples answers."
    )
    tree_temperature: float = Field(
        default=0.7, ge=0.0, le=2.0, description="Temperature of tag and question generation."
    )
    max_tokens: int = Field(default=512, ge=16, le=32768, description="Tokens per answer.")
    template: str = Field(default="think", description=f"Answer template: {', '.join(TEMPLATES)}.")
    constrain: Literal["auto", "on", "off"] = Field(
        default="auto",
        description="Ask for JSON {reasoning, answer} under a JSON schema; auto: on for "
        "llama.cpp teachers (local, .gguf), whose grammars enforce it.",
    )
    seed: int = Field(default=0, ge=0, description="Base seed; each request derives its own.")
    teacher: str = Field(
        default="local", description="local, a .gguf path, an HF id or dir, or an http(s) URL."
    )
    teacher_model: str | None = Field(default=None, description="Model name at an endpoint.")
    rejected: Path | None = Field(
        default=None, description="Unparseable replies (default: OUT with .rejected.jsonl)."
    )
    cache: Path | None = Field(
        default=None, description="Request cache directory (default: OUT.cache/)."
    )

    @model_validator(mode="after")
    def _check(self) -> GenerateConfig:
        if (self.topic is None) == (self.questions is None):
            raise ValueError("give exactly one of --topic and --questions")
        if self.topic is not None and not self.topic.strip():
            raise ValueError("--topic is empty")
        if self.template not in TEMPLATES:
            raise ValueError(f"--template must be one of {', '.join(TEMPLATES)}")
        if self.teacher.startswith(("http://", "https://")) and not self.teacher_model:
            raise ValueError("an endpoint --teacher needs --teacher-model NAME")
        return self

    @property
    def rejected_path(self) -> Path:
        if self.rejected is not None:
            return self.rejected
        name = self.out.name.removesuffix(".jsonl")
        return self.out.with_name(f"{name}.rejected.jsonl")

    @property
    def cache_dir(self) -> Path:
        return (
            self.cache if self.cache is not None else self.out.with_name(self.out.name + ".cache")
        )

    def constrained(self) -> bool:
        if self.constrain != "auto":
            return self.constrain == "on"
        return self.teacher == "local" or self.teacher.endswith(".gguf")

    def sampling(self) -> dict[str, object]:
        """The answer parameters recorded in each trace's lineage."""
        return {
            "template": self.template,
            "max_tokens": self.max_tokens,
            "constrained": self.constrained(),
            "temperature": self.temperature,
            "sample_temperature": self.sample_temperature,
            "samples": self.samples,
        }
