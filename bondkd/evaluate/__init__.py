"""`bondkd eval`: a student and a teacher answer the same held-out questions.

`metrics` holds the pure scoring functions (answer matching, accuracy, win / tie / loss,
retention, latency, the cost model), `runner` asks both models and builds the per-question
rows and the summary, `command` is the CLI, `output` the terminal table and the HTML page.
The formulas are in docs/eval.md.

May import: base, read, quantities, measure, views, pipeline, teachers.
"""

from bondkd.evaluate.config import EvalConfig, load_eval_config
from bondkd.evaluate.metrics import cost_model, win_tie_loss
from bondkd.evaluate.runner import EvalResult, EvalRow, Question, evaluate, read_questions
from bondkd.quantities import answers_match

__all__ = [
    "EvalConfig",
    "EvalResult",
    "EvalRow",
    "Question",
    "answers_match",
    "cost_model",
    "evaluate",
    "load_eval_config",
    "read_questions",
    "win_tie_loss",
]
