"""LoRA students (peft): the collector, `bond_distill_loss`, `BondDistillTrainer` and
`BondSFTTrainer` through a `PeftModel`, on tiny random-init Llamas (2 layers, GQA).

What must hold: the collector finds the config and the attention layers through the
wrapper and captures step attention; only adapter weights get gradients and change (base
weights bit-identical); the bond loss reaches LoRA A/B of the read layer's q/k (and not
its v/o: they do not change the attention probabilities); an adapter saved and loaded
again, and the adapter merged into the base (`merge_and_unload`), give the same step
attention and logits as the wrapped model."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import test_trainer
import torch
from conftest import char_tokenizer
from test_trainer import student

from bondkd.distill.collate import BondCollator, TargetDataset
from bondkd.distill.student import StepAttentionCollector
from bondkd.distill.trainer import BondDistillTrainer, bond_distill_loss

peft = pytest.importorskip("peft")

# test_trainer's fixtures: lexical targets of three shipped traces; torch threads 1.
one_thread, targets_dir, targets = (
    test_trainer.one_thread,
    test_trainer.targets_dir,
    test_trainer.targets,
)

ATTN = ["q_proj", "k_proj", "v_proj", "o_proj"]
MLP = ["gate_proj", "up_proj", "down_proj"]


def lora(model, modules=ATTN, init: bool = False, seed: int = 1, **kw):
    """`model` wrapped in a rank-4 LoRA. init=False: A and B random (peft's default init
    has B = 0, so the adapter starts as a no-op and A gets no gradient on the first step)."""
    torch.manual_seed(seed)
    cfg = peft.LoraConfig(
        r=4, lora_alpha=8, target_modules=list(modules), init_lora_weights=init, **kw
    )
    return peft.get_peft_model(model, cfg)


def base_state(model) -> dict[str, torch.Tensor]:
    """Copies of the non-adapter weights, by name."""
    return {n: p.detach().clone() for n, p in model.named_parameters() if "lora_" not in n}


def step_attention(model, batch, layers=(-1,)):
    """(step attention (B, S, S), step_mask, logits) of one no-grad forward in capture."""
    collector = StepAttentionCollector(model, layers=list(layers))
    s = batch["teacher_energy"].shape[-1]
    with torch.no_grad(), collector.capture(batch["token_steps"], n_steps=s) as cap:
        out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
    attn, mask = cap.result()
    return attn, mask, out.logits


@pytest.fixture(scope="module")
def batch(targets):
    return BondCollator(char_tokenizer(), max_length=300)(targets)


def test_collector_reads_through_the_peft_wrapper(batch):
    tok = char_tokenizer()
    model = lora(student(tok))
    assert isinstance(model, peft.PeftModel)
    collector = StepAttentionCollector(model)
    plain = StepAttentionCollector(student(tok))
    assert (collector.layers, collector.n_heads) == (plain.layers, plain.n_heads) == ([1], 4)
    before = model.config._attn_implementation
    attn, mask, logits = step_attention(model, batch, layers=[0, 1])
    assert model.config._attn_implementation == before  # restored through the wrapper
    assert attn.shape == batch["teacher_energy"].shape and mask.any()
    lower = torch.ones_like(attn[0], dtype=torch.bool).tril(-1)
    assert (attn[:, ~lower] == 0).all() and (attn[:, lower] > 0).any()
    # Rows sum to at most 1 (mass on earlier steps of one query step, averaged).
    assert (attn.sum(-1) <= 1 + 1e-5).all()
    with torch.no_grad():  # the capture leaves the layer outputs as SDPA gives them
        ref = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    real = batch["attention_mask"].bool()
    torch.testing.assert_close(logits[real], ref[real], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("modules", [ATTN, MLP, ATTN + MLP], ids=["attn", "mlp", "attn+mlp"])
def test_only_adapters_get_gradients_and_change(batch, modules):
    model = lora(student(char_tokenizer()), modules)
    base = base_state(model)
    adapters = {n: p.detach().clone() for n, p in model.named_parameters() if "lora_" in n}
    assert adapters and all(("lora_" in n) == p.requires_grad for n, p in model.named_parameters())
    collector = StepAttentionCollector(model, layers=[-1])
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.1)
    loss, logs = bond_distill_loss(model, collector, batch, alpha=1.0)
    loss.backward()
    assert logs["bond"] > 0
    for n, p in model.named_parameters():
        assert (p.grad is not None) == (n in adapters), n
    opt.step()
    for n, p in model.named_parameters():
        if n in base:
            assert torch.equal(p, base[n]), n  # bit-identical, weight decay included
        else:
            assert not torch.equal(p, adapters[n]), n


@pytest.mark.parametrize("init", [False, True], ids=["random-AB", "peft-default-B0"])
def test_bond_gradient_reaches_read_layer_lora(batch, init):
    """L_bond alone, read at the last layer: its q/k adapters get gradient, its v/o
    adapters none (they act after the attention probabilities), and every adapter of the
    layer below does (it shapes the read layer's input)."""
    model = lora(student(char_tokenizer()), ATTN, init=init)
    collector = StepAttentionCollector(model, layers=[1])
    s = batch["teacher_energy"].shape[-1]
    with collector.capture(batch["token_steps"], n_steps=s) as cap:
        model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
    attn, mask = cap.result()
    from bondkd.distill.loss import bond_attention_loss

    bond_attention_loss(attn, batch["teacher_energy"], mask).backward()

    def grad(layer: int, proj: str, ab: str) -> float:
        (p,) = [p for n, p in model.named_parameters()
                if f"layers.{layer}.self_attn.{proj}.lora_{ab}." in n]  # fmt: skip
        return 0.0 if p.grad is None else float(p.grad.abs().sum())

    for proj in ("q_proj", "k_proj"):
        assert grad(1, proj, "B") > 0, proj
        # peft's default init has B = 0, so A's gradient (through B) is 0 until B moves.
        assert (grad(1, proj, "A") > 0) == (not init), proj
    for proj in ("v_proj", "o_proj"):
        assert grad(1, proj, "A") == grad(1, proj, "B") == 0, proj
    for proj in ATTN:
        assert grad(0, proj, "B") > 0, proj


def test_adapter_save_and_reload_round_trip(batch, tmp_path):
    tok = char_tokenizer()
    base = student(tok)
    fresh = copy.deepcopy(base)  # the base weights, unwrapped (get_peft_model wraps in place)
    model = lora(base, ATTN + MLP)
    collector = StepAttentionCollector(model, layers=[-1])
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    bond_distill_loss(model, collector, batch, alpha=1.0)[0].backward()
    opt.step()  # an adapter that is not its init
    model.eval()
    want = step_attention(model, batch)

    model.save_pretrained(tmp_path)
    assert (tmp_path / "adapter_config.json").exists()
    from safetensors.torch import load_file

    saved = load_file(tmp_path / "adapter_model.safetensors")
    assert saved and all("lora_" in k for k in saved)  # the adapter only, no base weights
    loaded = peft.PeftModel.from_pretrained(fresh, tmp_path)
    loaded.eval()
    got = step_attention(loaded, batch)
    for a, b in zip(got, want, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_merge_and_unload_gives_the_same_step_attention(batch):
    model = lora(student(char_tokenizer()), ATTN + MLP)
    model.eval()
    layers = [0, 1]
    attn, mask, logits = step_attention(model, batch, layers)
    merged = copy.deepcopy(model).merge_and_unload()
    assert not isinstance(merged, peft.PeftModel)
    assert not any("lora_" in n for n, _ in merged.named_parameters())
    m_attn, m_mask, m_logits = step_attention(merged, batch, layers)
    assert torch.equal(mask, m_mask)
    torch.testing.assert_close(m_attn, attn, atol=1e-5, rtol=1e-4)
    real = batch["attention_mask"].bool()
    torch.testing.assert_close(m_logits[real], logits[real], atol=1e-4, rtol=1e-4)
    # ...and the adapter did change them: the merge is not comparing the base with itself.
    b_attn, _, _ = step_attention(student(char_tokenizer()), batch, layers)
    assert (b_attn - attn).abs().max() > 1e-3


def test_bond_distill_trainer_trains_a_lora_adapter(targets_dir, targets, tmp_path):
    from transformers import TrainingArguments

    tok = char_tokenizer()
    model = lora(student(tok), ATTN + MLP, init=True, task_type="CAUSAL_LM")
    base = base_state(model)
    adapters = {n: p.detach().clone() for n, p in model.named_parameters() if "lora_" in n}
    args = TrainingArguments(
        output_dir=str(tmp_path), per_device_train_batch_size=len(targets), max_steps=2,
        learning_rate=1e-2, logging_steps=1, save_strategy="no", report_to=[], use_cpu=True,
        seed=0,
    )  # fmt: skip
    trainer = BondDistillTrainer(
        model=model, args=args, train_dataset=TargetDataset(targets_dir),
        data_collator=BondCollator(tok, max_length=300), alpha=1.0, layers=[-1],
    )  # fmt: skip
    assert trainer.collector.model is model and trainer.collector.layers == [1]
    trainer.train()
    logged = [h for h in trainer.state.log_history if "bond" in h]
    assert len(logged) == 2
    assert all(np.isfinite([h["loss"], h["ce"], h["bond"]]).all() and h["bond"] > 0 for h in logged)
    named = dict(model.named_parameters())
    assert all(torch.equal(named[n], p) for n, p in base.items())
    # B starts at 0: the first step moves B, the second A too.
    assert all(not torch.equal(named[n], p) for n, p in adapters.items())
    trainer.save_model(str(tmp_path / "adapter"))  # a PeftModel saves its adapter only
    assert (tmp_path / "adapter" / "adapter_config.json").exists()
    assert not (tmp_path / "adapter" / "model.safetensors").exists()


@pytest.mark.parametrize("how", ["peft_config", "wrapped"])
def test_bond_sft_trainer_trains_a_lora_adapter(targets_dir, tmp_path, how):
    pytest.importorskip("trl")
    from trl import SFTConfig

    from bondkd.distill.collate import hf_dataset
    from bondkd.distill.trainer import BondSFTTrainer

    tok = char_tokenizer()
    model = student(tok)
    base = base_state(model)
    config = peft.LoraConfig(r=4, lora_alpha=8, target_modules=ATTN + MLP, task_type="CAUSAL_LM")
    kw = {"peft_config": config} if how == "peft_config" else {}
    if how == "wrapped":
        model = peft.get_peft_model(model, config)
    args = SFTConfig(
        output_dir=str(tmp_path), max_steps=2, per_device_train_batch_size=2,
        learning_rate=1e-2, logging_steps=1, activation_checkpointing=False, bf16=False,
        dataset_kwargs={"skip_prepare_dataset": True}, remove_unused_columns=False,
        save_strategy="no", report_to=[], use_cpu=True,
    )  # fmt: skip
    trainer = BondSFTTrainer(
        model=model, args=args, train_dataset=hf_dataset(targets_dir), processing_class=tok,
        data_collator=BondCollator(tok, max_length=300), alpha=1.0, layers=[-1], **kw,
    )  # fmt: skip
    assert isinstance(trainer.model, peft.PeftModel)
    assert trainer.collector.model is trainer.model
    trainer.train()
    logged = [h for h in trainer.state.log_history if "bond" in h]
    assert len(logged) == 2 and all(np.isfinite([h["ce"], h["bond"]]).all() for h in logged)
    assert logged[0]["bond"] > 0
    named = {n.replace("base_model.model.", "").replace(".base_layer", ""): p
             for n, p in trainer.model.named_parameters() if "lora_" not in n}  # fmt: skip
    assert named.keys() == base.keys()
    assert all(torch.equal(named[n], p) for n, p in base.items())
    # peft's default init has B = 0: trained, every B has moved off it.
    lora_b = [p for n, p in trainer.model.named_parameters() if "lora_B" in n]
    assert len(lora_b) == 2 * 7 and all(p.abs().sum() > 0 for p in lora_b)
