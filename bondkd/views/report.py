"""Dataset report (`bondkd report`): plots, a sortable table of traces, and one molecule
page per trace (up to a cap) linked from the table.

Molecule pages go in a folder beside the report (``report.html`` ->
``report_molecules/00001.html``), named by input position, never by the untrusted id.
Memory is bounded: per trace only a table row and a stability value are kept.
"""

from __future__ import annotations

from pathlib import Path

from bondkd.errors import write_error
from bondkd.measure.stats import DatasetStats
from bondkd.molecule.molecule import Molecule
from bondkd.schema import BOND_TYPES, MoleculeDoc
from bondkd.views.html import asset, page
from bondkd.views.plots import PLOTS, figures, svg, write_pngs
from bondkd.views.render import molecule_html

PLOT_TITLES = {
    "stability": "Stability by verdict",
    "bond_types": "Bond types",
    "energy_by_position": "Mean bond energy by step position",
    "role_transitions": "Role transition matrix",
}


class ReportBuilder:
    """Add molecules in input order, then `write` the page."""

    def __init__(self, out: str | Path, views: int = 200, title: str = "bondkd report"):
        self.out = Path(out)
        self.views = views
        self.title = title
        self.view_dir = self.out.with_name(self.out.stem + "_molecules")
        self.stats = DatasetStats()
        self.rows: list[dict] = []
        self.errors: list[str] = []
        self.backends: set[str] = set()

    def add(self, doc: MoleculeDoc, verdict: bool | None, line: int) -> None:
        """`verdict`: the gate's (`filter` output) when the record had one, else the
        molecule's own."""
        accepted = doc.accepted if verdict is None else verdict
        self.stats.add(doc, accepted)
        self.backends.add(doc.provenance.backend)
        mol = Molecule(doc)
        view = None
        if len(self.rows) < self.views:
            name = f"{len(self.rows) + 1:05d}.html"
            back = f"../{self.out.name}"
            try:
                self.view_dir.mkdir(parents=True, exist_ok=True)
                (self.view_dir / name).write_text(molecule_html(doc, back=back), encoding="utf-8")
            except OSError as e:
                raise write_error(self.view_dir / name, e) from None
            view = f"{self.view_dir.name}/{name}"
        self.rows.append(
            {
                "n": len(self.rows) + 1,
                "line": line,
                "id": doc.id,
                "stability": round(doc.stability, 4),
                "verdict": "accepted" if accepted else "rejected",
                "by": "molecule" if verdict is None else "filter",
                "steps": len(doc.steps),
                **mol.bond_counts(),
                "conflicts": sum(1 for c in doc.conflicts if c.resolved_by is None),
                "view": view,
            }
        )

    def error(self, message: str) -> None:
        self.errors.append(message)

    def summary(self) -> dict:
        return {**self.stats.to_dict(), "errors": len(self.errors), "views": self.n_views}

    @property
    def n_views(self) -> int:
        return sum(1 for r in self.rows if r["view"])

    def write(self, png_dir: str | Path | None = None, to: str | Path | None = None) -> list[Path]:
        """Write the report (and the plots as PNG into `png_dir`); returns the PNG paths.
        `to`: the file to write, when not `out` itself (a temporary file renamed into place
        by the caller; links in the page are relative to `out`)."""
        figs = figures(self.stats)
        html = page(
            "report.html",
            scripts=[asset("report.js")],
            data={"rows": self.rows, "bondTypes": list(BOND_TYPES)},
            title=self.title,
            plots=[(PLOT_TITLES[k], svg(figs[k])) for k in PLOTS],
            summary=self.summary(),
            backends=sorted(self.backends),
            errors=self.errors,
            views=self.views,
        )
        target = self.out if to is None else Path(to)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(html, encoding="utf-8")
        except OSError as e:
            raise write_error(self.out, e) from None
        if png_dir is None:
            return []
        try:
            return write_pngs(figs, png_dir)
        except OSError as e:
            raise write_error(png_dir, e) from None
