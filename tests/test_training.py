"""The plain PyTorch loop of docs/training.md: teacher targets -> student step attention
-> CE + α·L_bond, on a tiny random-init Llama. The bond loss must go down."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from conftest import char_tokenizer

from bondkd.config import AnalyzeConfig
from bondkd.distill.loss import bond_attention_loss, total_loss
from bondkd.distill.student import StepAttentionCollector, spans_to_token_steps
from bondkd.distill.targets import TargetReader, TargetWriter, build_targets
from bondkd.pipeline import Analyzer
from bondkd.read.formats import parse_record

DATA = Path(__file__).resolve().parents[1] / "datasets"


def test_bond_loss_goes_down_in_a_plain_training_loop(tmp_path):
    from transformers import LlamaConfig, LlamaForCausalLM

    traces = [parse_record(json.loads((DATA / n).read_text())) for n in
              ("gsm8k_short.json", "contradiction.json")]  # fmt: skip
    analyzer = Analyzer(AnalyzeConfig(backend="lexical"))
    with TargetWriter(tmp_path / "tgt", analyzer) as w:  # offline, once
        w.write_all(build_targets(traces, analyzer))
    targets = TargetReader(tmp_path / "tgt")

    tok = char_tokenizer()
    torch.manual_seed(0)
    cfg = LlamaConfig(hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                      num_key_value_heads=2, intermediate_size=128, vocab_size=len(tok),
                      pad_token_id=tok.pad_token_id)  # fmt: skip
    student = LlamaForCausalLM(cfg)
    collector = StepAttentionCollector(student, layers=[-1])
    opt = torch.optim.AdamW(student.parameters(), lr=3e-3)

    def step(t) -> tuple[float, float]:
        prefix = t.question + "\n\n"
        enc = tok(prefix + t.text, return_offsets_mapping=True, return_tensors="pt")
        steps = spans_to_token_steps(enc["offset_mapping"][0], t.spans.tolist(), shift=len(prefix))
        with collector.capture(steps) as cap:
            out = student(input_ids=enc["input_ids"], labels=enc["input_ids"])
        attn, mask = cap.result()  # (1, S, S), (1, S)
        energy = torch.from_numpy(t.energy)[None]  # (1, S, S)
        bond = bond_attention_loss(attn, energy, mask)
        loss, logs = total_loss(out.loss, bond, alpha=1.0)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return logs["bond"], logs["ce"]

    first = [step(t)[0] for t in targets]
    for _ in range(15):
        last = [step(t)[0] for t in targets]
    assert sum(last) < 0.7 * sum(first), (first, last)
