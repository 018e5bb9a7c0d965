"""The four dataset plots of `bondkd report`, drawn once with matplotlib: inlined as SVG
in the HTML page and written as PNG for papers (`--png DIR`).

Only bondkd's own labels reach a plot, never trace text.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure  # used directly, not through pyplot: no GUI backend
from matplotlib.ticker import MaxNLocator

from bondkd.measure.stats import POSITION_BINS, STABILITY_BINS, DatasetStats, row_normalise
from bondkd.schema import BOND_TYPES, ROLES
from bondkd.views.render import BOND_COLOURS, BOND_LABELS, ROLE_LABELS

VERDICT_COLOURS = {"accepted": "#25804a", "rejected": "#b3261e", "unknown": "#9aa5b1"}
PLOTS = ("stability", "bond_types", "energy_by_position", "role_transitions")
matplotlib.rcParams.update({"svg.hashsalt": "bondkd", "font.size": 10})


def _figure() -> tuple[Figure, Axes]:
    fig = Figure(figsize=(6.0, 3.6), dpi=100, layout="constrained")
    return fig, fig.add_subplot()


def stability_histogram(stats: DatasetStats) -> Figure:
    fig, ax = _figure()
    edges = np.linspace(0, 1, STABILITY_BINS + 1)
    hist = stats.histogram()
    bottom = np.zeros(STABILITY_BINS)
    for key in ("accepted", "rejected", "unknown"):
        counts = np.asarray(hist[key])
        if counts.sum():
            label = (
                f"{key} ({counts.sum()})" if key != "unknown" else f"no verdict ({counts.sum()})"
            )
            ax.bar(
                edges[:-1],
                counts,
                width=np.diff(edges),
                bottom=bottom,
                align="edge",
                color=VERDICT_COLOURS[key],
                edgecolor="white",
                linewidth=0.5,
                label=label,
            )
            bottom += counts
    ax.set(xlabel="stability", ylabel="traces", xlim=(0, 1), title="Stability")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(frameon=False)
    return fig


def bond_type_distribution(stats: DatasetStats) -> Figure:
    fig, ax = _figure()
    counts = [stats.bonds.get(t, 0) for t in BOND_TYPES]
    total = sum(counts) or 1
    bars = ax.barh(
        [BOND_LABELS[t] for t in BOND_TYPES], counts, color=[BOND_COLOURS[t] for t in BOND_TYPES]
    )
    ax.bar_label(bars, labels=[f"{c} ({100 * c / total:.1f}%)" for c in counts], padding=3)
    ax.invert_yaxis()
    ax.set(xlabel="bonds", title=f"Bond types ({sum(counts)} bonds, {stats.n} traces)")
    ax.margins(x=0.25)
    return fig


def energy_by_position(stats: DatasetStats) -> Figure:
    fig, ax = _figure()
    mean = stats.mean_energy()
    x = (np.arange(POSITION_BINS) + 0.5) / POSITION_BINS
    for i, t in enumerate(BOND_TYPES):
        if not np.all(np.isnan(mean[i])):
            ax.plot(x, mean[i], marker="o", color=BOND_COLOURS[t], label=BOND_LABELS[t])
    ax.set(
        xlabel="relative position of the bonding (later) step",
        ylabel="mean bond energy",
        xlim=(0, 1),
        ylim=(0.25, 1.0),
        title="Mean bond energy by step position",
    )
    ax.legend(frameon=False, fontsize=8)
    return fig


def role_transition_heatmap(stats: DatasetStats) -> Figure:
    fig, ax = _figure()
    im = _transitions(ax, stats.transitions, "Role transitions P(next | step)")
    fig.colorbar(im, ax=ax, shrink=0.8)
    return fig


def transition_panels(panels: list[tuple[str, np.ndarray]]) -> Figure:
    """Role transition matrices side by side (a target, then datasets measured against it)."""
    fig = Figure(figsize=(4.2 * len(panels), 3.9), dpi=100, layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    im = None
    for k, (ax, (title, counts)) in enumerate(zip(axes, panels, strict=True)):
        im = _transitions(ax, np.asarray(counts), title, ylabel=k == 0)
    if im is not None:
        fig.colorbar(im, ax=list(axes), shrink=0.8)
    return fig


def _transitions(ax: Axes, counts: np.ndarray, title: str, ylabel: bool = True) -> Any:
    probs = row_normalise(counts)
    im = ax.imshow(probs, vmin=0, vmax=1, cmap="Blues")
    labels = [ROLE_LABELS[r] for r in ROLES]
    ax.set_xticks(range(len(ROLES)), labels, rotation=20)
    ax.set_yticks(range(len(ROLES)), labels if ylabel else [])
    for a in range(len(ROLES)):
        for b in range(len(ROLES)):
            colour = "white" if probs[a, b] > 0.55 else "#1d2733"
            ax.text(
                b,
                a,
                f"{probs[a, b]:.2f}\n({counts[a, b]})",
                ha="center",
                va="center",
                fontsize=8,
                color=colour,
            )
    ax.set(xlabel="next step's role", ylabel="step's role" if ylabel else "", title=title)
    return im


def figures(stats: DatasetStats) -> dict[str, Figure]:
    return dict(
        zip(
            PLOTS,
            (
                stability_histogram(stats),
                bond_type_distribution(stats),
                energy_by_position(stats),
                role_transition_heatmap(stats),
            ),
            strict=True,
        )
    )


def svg(fig: Figure) -> str:
    """The figure as an inline `<svg>` element (no XML prolog, no metadata date)."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    text = buf.getvalue()
    return text[text.index("<svg") :]


def write_pngs(figs: dict[str, Figure], folder: str | Path, dpi: int = 200) -> list[Path]:
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, fig in figs.items():
        path = out / f"{name}.png"
        fig.savefig(path, dpi=dpi)
        paths.append(path)
    return paths
