"""Distillation: teacher targets, student step attention and the structural loss.

`targets` stores each teacher molecule once, `collate` batches them with tokens, `student`
reads a student's differentiable step attention, `loss` holds the pure loss functions and
`trainer` the thin HF `Trainer` / TRL wrappers, `checkpointing` replays the capture in
activation checkpointing, `fidelity` measures a student against held-out teacher molecules
and `recipe` holds the pieces of examples/recipe.py. See docs/training.md.

May import: base, energy, molecule, measure, pipeline.
"""
