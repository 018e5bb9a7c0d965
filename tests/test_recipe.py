"""examples/recipe.py and its library, bondkd.distill.recipe.

Fast: the Wilson interval, atomic and skippable stages, and a checkpointed LoRA training
run that is interrupted and resumes to the very weights of an uninterrupted one, then
saved merged. Slow (the real packaged models): the whole recipe at the smallest sizes
that run every stage, then again, which must skip every stage."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import pytest
import torch
from conftest import char_tokenizer

from bondkd.config import AnalyzeConfig
from bondkd.distill.collate import BondCollator, TargetDataset
from bondkd.distill.recipe import (
    Stages,
    TrainConfig,
    add_lora,
    save_student,
    train_student,
    wilson,
)
from bondkd.distill.student import StepAttentionCollector
from bondkd.distill.targets import TargetWriter, build_targets
from bondkd.errors import BondkdError
from bondkd.pipeline import Analyzer
from bondkd.read.formats import parse_record

ROOT = Path(__file__).resolve().parents[1]


def test_wilson():
    assert wilson(0, 20) == pytest.approx((0.0, 0.16113), abs=1e-4)
    assert wilson(5, 10) == pytest.approx((0.23659, 0.76341), abs=1e-4)
    assert wilson(10, 10)[1] == 1.0
    assert all(math.isnan(x) for x in wilson(0, 0))


def test_stages_are_atomic_skipped_and_tied_to_their_settings(tmp_path):
    st = Stages(tmp_path)
    calls = []

    def make(tmp: Path) -> None:
        calls.append(tmp)
        (tmp / "out.txt").write_text("x")

    out = st.run("a", {"n": 1}, make)
    assert (out / "out.txt").read_text() == "x" and st.done("a")
    assert st.run("a", {"n": 1}, make) == out and len(calls) == 1  # skipped
    with pytest.raises(BondkdError, match="n: 1 then, 2 now"):
        st.run("a", {"n": 2}, make)

    def fail(tmp: Path) -> None:
        (tmp / "half.txt").write_text("half")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        st.run("b", {}, fail)
    assert not st.path("b").exists()  # nothing under the real name
    # keep_partial: the scratch of an interrupted run is handed back (same settings only)
    seen = []
    st.run("b", {}, lambda tmp: seen.append((tmp / "half.txt").exists()), keep_partial=True)
    assert seen == [True]
    log = [json.loads(x) for x in st.log_path.read_text().splitlines()]
    assert [(e["stage"], e["status"]) for e in log] == [
        ("a", "ran"),
        ("a", "skipped"),
        ("b", "ran"),
    ]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    names = ("gsm8k_short.json", "contradiction.json", "exploratory.json")
    traces = [parse_record(json.loads((ROOT / "datasets" / n).read_text())) for n in names]
    analyzer = Analyzer(AnalyzeConfig(backend="lexical"))
    out = tmp_path_factory.mktemp("tgt")
    with TargetWriter(out, analyzer) as w:
        w.write_all(build_targets(traces, analyzer))
    return TargetDataset(out), char_tokenizer()


def lora_student(tok):
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    cfg = LlamaConfig(hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                      num_key_value_heads=2, intermediate_size=128, vocab_size=len(tok),
                      pad_token_id=tok.pad_token_id)  # fmt: skip
    return add_lora(LlamaForCausalLM(cfg), 4)


def test_training_resumes_to_the_same_weights_and_saves_merged(tiny, tmp_path):
    torch.set_num_threads(1)
    data, tok = tiny
    collate = BondCollator(tok, max_length=256)
    # Lexical targets have no attention component: train on the energy.
    cfg = TrainConfig(steps=4, batch=2, lr=1e-2, warmup=2, alpha=1.0, target="energy",
                      ckpt_every=2)  # fmt: skip

    def run(ckpt, stop_at=None):
        model = lora_student(tok)

        def on_step(step, row):
            if step == stop_at:
                raise KeyboardInterrupt

        log = train_student(model, StepAttentionCollector(model), data, collate, cfg, ckpt, on_step)
        return model, log

    whole, log = run(tmp_path / "a.pt")
    assert [r["step"] for r in log] == [1, 2, 3, 4] and log[-1]["bond"] > 0
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path / "b.pt", stop_at=3)  # step 3 is lost: the checkpoint is at 2
    assert torch.load(tmp_path / "b.pt", weights_only=False)["step"] == 2
    resumed, log_b = run(tmp_path / "b.pt")
    assert log_b == log
    a, b = dict(whole.named_parameters()), dict(resumed.named_parameters())
    assert any("lora_" in n for n, p in a.items() if p.requires_grad)
    for n, p in a.items():
        assert torch.equal(p, b[n]), n
    with pytest.raises(BondkdError, match="other training settings"):
        model = lora_student(tok)
        other = TrainConfig(**{**cfg.__dict__, "alpha": 0.0})
        train_student(model, StepAttentionCollector(model), data, collate, other, tmp_path / "a.pt")

    from transformers import AutoModelForCausalLM

    batch = collate([data[0]])
    whole.eval()
    with torch.no_grad():
        want = whole(input_ids=batch["input_ids"]).logits
        save_student(whole, tok, tmp_path / "student")
        got = AutoModelForCausalLM.from_pretrained(tmp_path / "student")(
            input_ids=batch["input_ids"]
        ).logits
    assert torch.allclose(got, want, atol=1e-4)


def recipe():
    spec = importlib.util.spec_from_file_location("recipe", ROOT / "examples/recipe.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.slow
def test_recipe_end_to_end_then_resumes(tmp_path):
    work = tmp_path / "work"
    argv = ["--work", str(work), "--train-questions", "4", "--test-questions", "2",
            "--heldout-traces", "4", "--max-tokens", "128", "--steps", "2",
            "--ckpt-every", "1"]  # fmt: skip
    mod = recipe()
    first = mod.main(argv)
    stages = ["questions", "generate", "filter", "targets", "heldout", "train-ce", "train-bond",
              "fidelity-base", "fidelity-ce", "fidelity-bond", "eval-ce", "eval-bond"]  # fmt: skip
    for name in stages:
        assert (work / name / "stage.json").is_file(), name
    assert not list(work.glob(".*.partial"))
    assert (work / "generate" / "traces.jsonl").stat().st_size > 0
    assert (work / "filter" / "accepted.jsonl").stat().st_size > 0
    assert (work / "targets" / "targets" / "meta.json").is_file()
    assert (work / "heldout" / "targets" / "meta.json").is_file()
    for arm in ("ce", "bond"):
        assert (work / f"train-{arm}" / "student" / "config.json").is_file()
        assert len((work / f"train-{arm}" / "log.jsonl").read_text().splitlines()) == 2
        ev = json.loads((work / f"eval-{arm}" / "eval.json").read_text())
        assert ev["n"] == 2 and ev["student"]["n"] == 2
    for name in ("base", "ce", "bond"):
        result = json.loads((work / f"fidelity-{name}" / "result.json").read_text())
        assert set(result) >= {"spearman_net", "bond_agreement", "spearman", "lm_loss"}
        assert math.isfinite(result["lm_loss"])
    table = (work / "results.md").read_text()
    for row in ("teacher (local)", "untrained student", "ce (alpha 0)", "bond (alpha 100)"):
        assert row in table
    saved = json.loads((work / "results.json").read_text())
    assert saved["table"] == first["table"] and saved["rows"][-1]["accuracy"]["n"] == 2

    mtimes = {p: p.stat().st_mtime_ns for p in work.rglob("*") if p.is_file()}
    second = mod.main(argv)  # everything is there: every stage is skipped
    log = [json.loads(x) for x in (work / "stages.jsonl").read_text().splitlines()]
    assert [(e["stage"], e["status"]) for e in log] == [(s, "ran") for s in stages] + [
        (s, "skipped") for s in stages
    ]
    assert json.dumps(second["rows"]) == json.dumps(first["rows"])  # nan != nan
    for p, t in mtimes.items():
        if p.name not in ("stages.jsonl", "results.json", "results.md"):
            assert p.stat().st_mtime_ns == t, p
    with pytest.raises(BondkdError, match="steps: 2 then, 3 now"):
        mod.main([*argv, "--steps", "3"])  # outputs of other settings are never reused
