"""Structure-guided synthesis: the behaviour structure of a dataset's molecules as a target
(`structure`), behaviour plans drawn from it by random walks (`plan`), the teacher driven by
those plans (`guide`, `prompts`), and how close the output came (`plan.adherence` per
trace; `measure`: the distances of `bondkd compare`, accuracy). `bondkd structure` and
`bondkd generate --structure` (`command`; options in `config.GuideConfig`).

May import: base, read, quantities, molecule, measure, pipeline, teachers, generate, views.
"""

from bondkd.synth.plan import Plan, PlanStep, make_plans
from bondkd.synth.structure import TargetStructure, build_structure, load_structure

__all__ = ["Plan", "PlanStep", "TargetStructure", "build_structure", "load_structure", "make_plans"]
