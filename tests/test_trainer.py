"""Trainer integration: BondCollator batches, bond_distill_loss, BondDistillTrainer, the
TRL SFTTrainer recipe of docs/training.md and examples/plain_loop.py, on tiny models."""

from __future__ import annotations

import copy
import dataclasses
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import char_tokenizer

from bondkd.config import AnalyzeConfig
from bondkd.distill.collate import BondCollator, TargetDataset, hf_dataset
from bondkd.distill.loss import bond_attention_loss
from bondkd.distill.student import StepAttentionCollector
from bondkd.distill.targets import TargetReader, TargetWriter, TeacherTarget, build_targets
from bondkd.distill.trainer import BondDistillTrainer, bond_distill_loss
from bondkd.pipeline import Analyzer
from bondkd.read.formats import parse_record

ROOT = Path(__file__).resolve().parents[1]
NAMES = ("gsm8k_short.json", "contradiction.json", "exploratory.json")
PROMPT = "{question}\n\n"


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny matrices gain nothing from threads, and on a loaded machine OpenMP workers
    spin-waiting for a core make each step tens of times slower."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def targets_dir(tmp_path_factory) -> Path:
    traces = [parse_record(json.loads((ROOT / "datasets" / n).read_text())) for n in NAMES]
    analyzer = Analyzer(AnalyzeConfig(backend="lexical"))
    out = tmp_path_factory.mktemp("tgt")
    with TargetWriter(out, analyzer) as w:
        w.write_all(build_targets(traces, analyzer))
    return out


@pytest.fixture(scope="module")
def targets(targets_dir) -> list[TeacherTarget]:
    got = list(TargetReader(targets_dir))
    assert len({t.n_steps for t in got}) > 1  # rows of different S: padding is exercised
    return got


def student(tok, seed: int = 0):
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    cfg = LlamaConfig(hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                      num_key_value_heads=2, intermediate_size=128, vocab_size=len(tok),
                      pad_token_id=tok.pad_token_id)  # fmt: skip
    return LlamaForCausalLM(cfg)


def word_tokenizer(texts):
    """A word-level fast tokenizer (whitespace/punctuation split): a student tokenizer
    unlike the teacher's, whose tokens cover many characters."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    pre = pre_tokenizers.Whitespace()
    vocab = {"<unk>": 0, "<pad>": 1}
    for text in texts:
        for word, _ in pre.pre_tokenize_str(text):
            vocab.setdefault(word, len(vocab))
    tk = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tk.pre_tokenizer = pre
    return PreTrainedTokenizerFast(tokenizer_object=tk, unk_token="<unk>", pad_token="<pad>")


def char_steps(t: TeacherTarget, shift: int, n: int) -> np.ndarray:
    """(n,) teacher step of each character of prompt + text, -1 for none."""
    out = np.full(n, -1)
    for k, (a, b) in enumerate(t.spans):
        out[shift + a : shift + b] = k
    return out


# --- collator ---------------------------------------------------------------------------


def test_collator_shapes_labels_steps_and_targets(targets):
    tok = char_tokenizer()  # one token per character: token p is character p
    batch = BondCollator(tok, max_length=4096)(targets)
    b, s = len(targets), max(t.n_steps for t in targets)
    prefixes = [PROMPT.format(question=t.question) for t in targets]
    lengths = [len(p) + len(t.text) for p, t in zip(prefixes, targets, strict=True)]
    big_t = max(lengths)
    assert set(batch) == {"input_ids", "attention_mask", "labels", "token_steps",
                          "teacher_energy", "teacher_attention", "has_attention", "bond_types"}  # fmt: skip
    for key, shape, dtype in [
        ("input_ids", (b, big_t), torch.long),
        ("attention_mask", (b, big_t), torch.long),
        ("labels", (b, big_t), torch.long),
        ("token_steps", (b, big_t), torch.long),
        ("teacher_energy", (b, s, s), torch.float32),
        ("teacher_attention", (b, s, s), torch.float32),
        ("has_attention", (b,), torch.bool),
        ("bond_types", (b, s, s), torch.long),
    ]:
        assert batch[key].shape == shape and batch[key].dtype == dtype, key
    for r, (t, prefix, n) in enumerate(zip(targets, prefixes, lengths, strict=True)):
        ids, labels = batch["input_ids"][r], batch["labels"][r]
        assert batch["attention_mask"][r].tolist() == [1] * n + [0] * (big_t - n)
        assert (ids[n:] == tok.pad_token_id).all()
        assert (labels[: len(prefix)] == -100).all()  # the prompt is not trained on
        assert torch.equal(labels[len(prefix) : n], ids[len(prefix) : n])
        assert (labels[n:] == -100).all()
        expect = char_steps(t, len(prefix), n)
        assert batch["token_steps"][r, :n].tolist() == expect.tolist()
        assert (batch["token_steps"][r, n:] == -1).all()
        k = t.n_steps
        assert np.array_equal(batch["teacher_energy"][r, :k, :k].numpy(), t.energy)
        assert np.array_equal(batch["bond_types"][r, :k, :k].numpy(), t.bond_types)
        assert batch["teacher_energy"][r, k:].abs().sum() == 0  # zero-padded
        assert batch["teacher_energy"][r, :, k:].abs().sum() == 0
    # lexical backend: no attention component anywhere
    assert not batch["has_attention"].any() and batch["teacher_attention"].abs().sum() == 0

    on_prompt = BondCollator(tok, max_length=4096, train_on_prompt=True)(targets)["labels"]
    assert torch.equal(
        on_prompt, batch["input_ids"].masked_fill(batch["attention_mask"] == 0, -100)
    )


def test_collator_attention_targets_nan_to_zero(targets):
    t0 = targets[0]
    att = t0.energy * 0.5
    j, i = t0.pairs[0]
    att[j, i] = np.nan  # a pair no attention window covered
    feats = [dataclasses.replace(t0, attention=att), targets[1]]
    batch = BondCollator(char_tokenizer(), max_length=4096)(feats)
    assert batch["has_attention"].tolist() == [True, False]
    k = t0.n_steps
    got = batch["teacher_attention"][0, :k, :k].numpy()
    assert got[j, i] == 0 and np.array_equal(got, np.nan_to_num(att, nan=0.0))
    assert batch["teacher_attention"][1].abs().sum() == 0


def test_truncation_drops_steps_and_padding_rows_are_masked(targets):
    tok = char_tokenizer()
    model = student(tok)
    long_t, short_t = sorted(targets[:2], key=lambda t: -t.n_steps)
    cut_prefix = len(PROMPT.format(question=long_t.question))
    # Cut the long row inside its 3rd step: steps 3.. lose all their tokens, step 2 some,
    # and a part of a step is not compared with a target made on all of it.
    max_length = cut_prefix + int(long_t.spans[2, 0]) + 3
    batch = BondCollator(tok, max_length=max_length)([long_t, short_t])
    assert batch["input_ids"].shape[1] == max_length
    kept = set(batch["token_steps"][0].tolist()) - {-1}
    assert kept == {0, 1}
    s = batch["teacher_energy"].shape[-1]
    assert s == max(2, max(set(batch["token_steps"][1].tolist()) - {-1}) + 1)
    # Cut right after step 1 ends: steps 0 and 1 are whole and kept.
    at_end = cut_prefix + int(long_t.spans[1, 1])
    kept = set(BondCollator(tok, max_length=at_end)([long_t])["token_steps"][0].tolist())
    assert kept - {-1} == {0, 1}

    collector = StepAttentionCollector(model, layers=[-1])
    with torch.no_grad():
        _, logs = bond_distill_loss(model, collector, batch, alpha=1.0)
        with collector.capture(batch["token_steps"], n_steps=s) as cap:
            model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
    mask = cap.step_mask  # (B, S)
    for r in range(2):
        present = set(batch["token_steps"][r].tolist()) - {-1}
        assert mask[r].tolist() == [k in present for k in range(s)]
    assert np.isfinite([logs["ce"], logs["bond"]]).all()

    # A row truncated inside its prompt keeps no step at all: no crash, bond loss 0.
    batch = BondCollator(tok, max_length=5)([long_t])
    assert batch["teacher_energy"].shape == (1, 1, 1) and (batch["token_steps"] == -1).all()
    with torch.no_grad():
        _, logs = bond_distill_loss(model, collector, batch, alpha=1.0)
    assert logs["bond"] == 0.0


def test_student_tokenizer_may_differ_spans_are_characters(targets):
    """Word tokens of another tokenizer: each gets the step its characters fall in, and
    the S×S targets do not depend on the student's tokenizer."""
    tok = word_tokenizer(PROMPT.format(question=t.question) + t.text for t in targets)
    batch = BondCollator(tok, max_length=4096)(targets)
    by_char = BondCollator(char_tokenizer(), max_length=4096)(targets)
    for key in ("teacher_energy", "bond_types"):
        assert torch.equal(batch[key], by_char[key])
    enc = tok([PROMPT.format(question=t.question) + t.text for t in targets],
              return_offsets_mapping=True)  # fmt: skip
    for r, t in enumerate(targets):
        shift = len(PROMPT.format(question=t.question))
        chars = char_steps(t, shift, shift + len(t.text))
        offsets = enc["offset_mapping"][r]
        assert len(offsets) < len(chars) / 2  # really multi-character tokens
        for p, (a, b) in enumerate(offsets):
            vals = chars[a:b][chars[a:b] >= 0]
            want = np.bincount(vals).argmax() if len(vals) else -1
            assert batch["token_steps"][r, p] == want
        assert set(batch["token_steps"][r].tolist()) - {-1} == set(range(t.n_steps))
    model = student(tok)
    collector = StepAttentionCollector(model, layers=[-1])
    loss, logs = bond_distill_loss(model, collector, batch, alpha=1.0)
    loss.backward()
    assert logs["bond"] > 0


def test_hf_dataset_rows_collate_like_targets(targets_dir, targets):
    pytest.importorskip("datasets")
    ds = hf_dataset(targets_dir)
    assert len(ds) == len(targets)
    collate = BondCollator(char_tokenizer(), max_length=4096)
    a, b = collate(list(ds)), collate(targets)
    for key in a:
        assert torch.equal(a[key], b[key]), key
    assert len(TargetDataset(targets_dir)) == len(targets)
    assert TargetDataset(targets_dir)[-1].id == targets[-1].id


# --- the loss step ----------------------------------------------------------------------


@pytest.mark.parametrize("target", ["energy", "attention"])
@pytest.mark.parametrize("normalised", [True, False])
def test_bond_distill_loss_equals_hand_rolled(targets, target, normalised):
    tok = char_tokenizer()
    model = student(tok)
    feats = [dataclasses.replace(t, attention=t.energy[::-1, ::-1].T * 0.3) for t in targets]
    batch = BondCollator(tok, max_length=300)(feats)
    before = {k: v.clone() for k, v in batch.items()}
    weights = {"reflection": 3.0, "exploratory": 0.5}
    collector = StepAttentionCollector(model, layers=[0, 1], heads=[1, 2])
    loss, logs = bond_distill_loss(
        model, collector, batch, alpha=0.7, target=target, kind="kl", type_weights=weights,
        normalised=normalised,
    )  # fmt: skip
    assert set(batch) == set(before) and all(torch.equal(batch[k], before[k]) for k in batch)

    twin = copy.deepcopy(model)
    col = StepAttentionCollector(twin, layers=[0, 1], heads=[1, 2])
    s = batch["teacher_energy"].shape[-1]
    with col.capture(batch["token_steps"], n_steps=s) as cap:
        logits = twin(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    ce = F.cross_entropy(logits[:, :-1].flatten(0, 1), batch["labels"][:, 1:].flatten())
    attn, mask = cap.result(normalised)
    teacher = batch["teacher_energy" if target == "energy" else "teacher_attention"]
    bond = bond_attention_loss(attn, teacher, mask, batch["bond_types"], weights)
    assert bond > 0
    torch.testing.assert_close(loss, ce + 0.7 * bond)
    assert logs == pytest.approx({"ce": ce.item(), "bond": bond.item()}, rel=1e-5)
    loss.backward()
    (ce + 0.7 * bond).backward()
    for p, q in zip(model.parameters(), twin.parameters(), strict=True):
        torch.testing.assert_close(p.grad, q.grad)


# --- Trainer, TRL, example --------------------------------------------------------------


def test_bond_distill_trainer_lowers_bond_loss(targets_dir, targets, tmp_path):
    from transformers import TrainingArguments

    tok = char_tokenizer()
    model = student(tok)
    collate = BondCollator(tok, max_length=400)
    args = TrainingArguments(
        output_dir=str(tmp_path), per_device_train_batch_size=len(targets), max_steps=24,
        learning_rate=3e-3, lr_scheduler_type="constant", logging_steps=6,
        save_strategy="no", report_to=[], use_cpu=True, seed=0,
    )  # fmt: skip
    trainer = BondDistillTrainer(
        model=model, args=args, train_dataset=TargetDataset(targets_dir),
        eval_dataset=TargetDataset(targets_dir), data_collator=collate, alpha=1.0, layers=[-1],
    )  # fmt: skip
    assert trainer.args.remove_unused_columns is False  # the bondkd keys must reach the loss

    batch = collate(targets)

    def bond_now() -> float:
        model.eval()
        with torch.no_grad():
            return bond_distill_loss(model, trainer.collector, batch, alpha=1.0)[1]["bond"]

    first = bond_now()
    trainer.train()
    last = bond_now()
    assert last < 0.7 * first, (first, last)
    logged = [h for h in trainer.state.log_history if "bond" in h]
    assert len(logged) == 4 and all({"loss", "ce", "bond"} <= set(h) for h in logged)
    assert logged[-1]["bond"] < logged[0]["bond"]

    metrics = trainer.evaluate()
    assert {"eval_loss", "eval_ce", "eval_bond"} <= set(metrics)
    assert metrics["eval_loss"] == pytest.approx(
        metrics["eval_ce"] + metrics["eval_bond"], rel=1e-4
    )
    assert {"test_loss", "test_ce", "test_bond"} <= set(trainer.evaluate(metric_key_prefix="test"))


def test_trainer_defaults_and_accepts_model_checkpointing(targets_dir, tmp_path):
    from transformers import TrainingArguments

    tok = char_tokenizer()
    data = TargetDataset(targets_dir)
    args = TrainingArguments(output_dir=str(tmp_path), report_to=[], use_cpu=True)
    trainer = BondDistillTrainer(model=student(tok), args=args, train_dataset=data,
                                 processing_class=tok)  # fmt: skip
    assert isinstance(trainer.data_collator, BondCollator)
    assert trainer.collector.layers == StepAttentionCollector(trainer.model).layers
    # Checkpointing is supported (the capture replays in the recomputation): equality with
    # the run without it is tests/test_scale_training.py's.
    args = TrainingArguments(output_dir=str(tmp_path), activation_checkpointing=True,
                             report_to=[], use_cpu=True)  # fmt: skip
    BondDistillTrainer(model=student(tok), args=args, train_dataset=data, processing_class=tok)
    model = student(tok)
    model.activation_checkpointing_enable()
    args = TrainingArguments(output_dir=str(tmp_path), report_to=[], use_cpu=True)
    BondDistillTrainer(model=model, args=args, train_dataset=data, processing_class=tok)


def test_trl_sft_recipe_trains(targets_dir, tmp_path):
    pytest.importorskip("trl")
    # --- the recipe of docs/training.md, verbatim except the model and tokenizer ---
    from trl import SFTConfig

    from bondkd.distill.collate import BondCollator, hf_dataset
    from bondkd.distill.trainer import BondSFTTrainer

    tok = char_tokenizer()
    model = student(tok)
    args = SFTConfig(
        output_dir=str(tmp_path),
        max_steps=2,
        per_device_train_batch_size=2,
        learning_rate=1e-5,
        logging_steps=1,
        activation_checkpointing=False,  # SFTConfig turns it on; off keeps the CPU run fast
        bf16=False,
        dataset_kwargs={"skip_prepare_dataset": True},  # BondCollator tokenises
        remove_unused_columns=False,
        save_strategy="no",
        report_to=[],
        use_cpu=True,
    )
    trainer = BondSFTTrainer(
        model=model,
        args=args,
        train_dataset=hf_dataset(targets_dir),  # datasets.Dataset of sparse target rows
        processing_class=tok,
        data_collator=BondCollator(tok, max_length=512),
        alpha=0.1,
    )
    # --- end of recipe ---
    start = [p.detach().clone() for p in model.parameters()]
    trainer.train()
    logged = [h for h in trainer.state.log_history if "bond" in h]
    assert len(logged) == 2 and all(
        np.isfinite([h["ce"], h["bond"], h["loss"]]).all() for h in logged
    )
    assert any(not torch.equal(a, p) for a, p in zip(start, model.parameters(), strict=True))


def test_plain_loop_example_runs(targets_dir, capsys):
    spec = importlib.util.spec_from_file_location("plain_loop", ROOT / "examples" / "plain_loop.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    history = mod.main([str(targets_dir), "--tiny", "--steps", "3", "--batch-size", "2",
                        "--max-length", "256", "--lr", "1e-3", "--log-every", "1"])  # fmt: skip
    assert [h["step"] for h in history] == [1, 2, 3]
    assert all(np.isfinite([h["loss"], h["ce"], h["bond"]]).all() for h in history)
    assert capsys.readouterr().out.count("bond") == 3
