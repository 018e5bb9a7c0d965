"""Measures of molecules and datasets: structure statistics, comparison, metrics, fitting.

`stats` (role transitions, bond mix), `compare` (teacher vs student structure, Spearman net
of distance), `metrics` (AUROC and friends), `stability_fit` (the stability weights).

May import: base, read, molecule.
"""
