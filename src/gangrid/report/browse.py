"""reports/index.html: the report to browse. One static page, no server, no network: it opens from a
file:// URL.

Per study: its description, axes and findings, its tables with sortable columns (click a heading)
and a filter per axis (dataset, arch, loss, trick) with the marks of the Markdown tables (bold best,
italic baseline, † significant, mean ± CI half-width), and its figures: the same PNG files under
reports/figures/ that the Markdown and LaTeX reports use. A click on a variant opens a panel with
its runs: status, convergence verdict, step, train time and device of each seed; for the selected
run its fixed-noise sample grid (results/<study>/<run>/grid.png), its curves, metrics, effective
config and the config keys that differ from the study's baseline run, from the run's script under
reports/browse/ (gangrid.report.rundata), loaded when the run is opened. The page's own size grows
with the number of variants and runs, not with the length of their curves.

The page's script and style (report/assets/) are inlined; they use no library.
"""

from __future__ import annotations

import html
import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd

from gangrid.artifacts import RESULTS_DIR, RunFiles
from gangrid.config import iter_runs
from gangrid.io import write_text
from gangrid.report import BROWSE_FILE, FIGURES_DIR, RUN_DATA_DIR, TABLES_DIR
from gangrid.report.columns import COORDS
from gangrid.report.document import Block, FigureBlock, TableBlock, inline_html, text_html
from gangrid.report.metricinfo import arrow, label
from gangrid.report.rundata import home_study, write_run_data
from gangrid.report.settings import report_settings
from gangrid.report.tables import COORD_TITLES, StudyTable, isnan, study_tables, text_cell

ASSETS = Path(__file__).with_name("assets")
RUN_FIELDS = ("seed", "status", "convergence", "step", "train_seconds", "eval_seconds", "device", "reason")


def url(path: Path | str, start: Path) -> str:
    """`path` relative to the folder `start`, as a URL path (every character that is not plain quoted)."""
    return quote(Path(os.path.relpath(path, start)).as_posix())


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path)
    except (FileNotFoundError, pd.errors.EmptyDataError):
        return pd.DataFrame()


def table_frames(tables_dir: Path = TABLES_DIR) -> dict[str, pd.DataFrame]:
    """The aggregate stage's runs, real, summary and significance tables, read back from its CSV files."""
    return {name: _read_csv(tables_dir / f"{name}.csv") for name in ("runs", "real", "summary", "significance")}


def _attr(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _number(value: float) -> str:
    return "" if isnan(value) else repr(float(value))


def table_html(table: StudyTable, number: int, title: str, caption: str) -> str:
    """One study table as a sortable HTML table: a row per variant (data-* coordinates for the filters), real rows kept."""
    interval = table.settings.interval
    heads = [f'<th data-type="text">{COORD_TITLES[c]}</th>' for c in COORDS]
    heads.append('<th data-type="num" title="finished runs (+ diverged)">Seeds</th>')
    heads += [f'<th data-type="num" title="{_attr(label(m))}">{html.escape(f"{m} {arrow(m, table.settings.directions)}".strip())}</th>'
              for m in table.metrics]
    body = []
    for r in table.rows:
        coords = {c: str(r.coords.get(c, "")) for c in COORDS}
        attrs = " ".join(f'data-{c}="{_attr(v)}"' for c, v in coords.items())
        if r.kind == "real":
            cells = [f"<td>{html.escape(coords['dataset'])}</td>", "<td><i>real data</i></td>", "<td>–</td>",
                     "<td>–</td>", '<td data-s="">–</td>']
            row = f'<tr data-kind="real" {attrs}>'
        else:
            shown = [html.escape(v) if r.kind != "baseline" or c == "dataset" else f"<i>{html.escape(v)}</i>"
                     for c, v in coords.items()]
            cells = [f"<td>{v}</td>" for v in shown] + [f'<td data-s="{r.n_finished}">{html.escape(r.seeds())}</td>']
            variant = "-".join(coords[c] for c in COORDS)
            row = f'<tr data-kind="{r.kind}" data-variant="{_attr(variant)}" {attrs} tabindex="0">'
        for m in table.metrics:
            cell = r.cells[m]
            text = html.escape(text_cell(cell, interval, markdown=False))
            tip = f' title="Holm-adjusted p = {cell.p_holm:.3g}"' if not isnan(cell.p_holm) else ""
            value = _number(cell.mean) if cell.state == "value" else ""
            cells.append(f'<td class="num" data-s="{value}"{tip}>{f"<b>{text}</b>" if cell.best else text}</td>')
        body.append(row + "".join(cells) + "</tr>")
    return (f'<p class="caption"><b>Table {number}. {inline_html(title)}.</b> {inline_html(caption)}</p>'
            f'<table class="gg-table" id="table-{_attr(table.stem)}"><thead><tr>{"".join(heads)}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table>')


def filters_html(study: str, tables: list[StudyTable]) -> str:
    """One select per axis with two or more values in the study's tables (real-data rows follow the dataset only)."""
    selects = []
    for c in COORDS:
        values = list(dict.fromkeys(str(r.coords[c]) for t in tables for r in t.rows if r.kind != "real"))
        if len(values) < 2:
            continue
        options = "".join(f'<option value="{_attr(v)}">{html.escape(v)}</option>' for v in values)
        selects.append(f'<label>{COORD_TITLES[c]} <select name="{c}"><option value="">all</option>{options}</select></label>')
    if not selects:
        return ""
    return (f'<div class="gg-filters" data-study="{_attr(study)}">Filter: {" ".join(selects)} '
            '<span class="gg-count"></span></div>')


def figure_html(stem: str, caption: str, number: int, start: Path) -> str:
    """A figure of the report: its PNG under reports/figures/, loaded when scrolled to."""
    src = url(FIGURES_DIR / f"{stem}.png", start)
    return (f'<figure><a href="{src}"><img loading="lazy" alt="Figure {number}" src="{src}"></a>'
            f"<figcaption><b>Figure {number}.</b> {inline_html(caption)}</figcaption></figure>")


class Numbering:
    """Running table and figure numbers, as the report numbers them."""

    def __init__(self) -> None:
        self.tables = 0
        self.figures = 0


def study_html(study: str, blocks: list[Block], tables: dict[str, StudyTable], numbers: Numbering, start: Path) -> str:
    """A study's section: its report blocks, with interactive tables and linked figures."""
    mine = [t for t in tables.values() if t.study == study]
    out = [f'<section class="gg-study" id="study-{_attr(study)}" data-study="{_attr(study)}">']
    filters_done = False
    for b in blocks:
        text = text_html(b)
        if text is not None:
            out.append(text)
        elif isinstance(b, TableBlock):
            numbers.tables += 1
            if not filters_done:
                out.append(filters_html(study, mine))
                filters_done = True
            if b.stem in tables:
                out.append(table_html(tables[b.stem], numbers.tables, b.title, b.caption))
        elif isinstance(b, FigureBlock):
            numbers.figures += 1
            out.append(figure_html(b.stem, b.caption, numbers.figures, start))
    out.append("</section>")
    return "\n".join(out)


def _cell(field: str, value: Any) -> Any:
    if value is None or (isinstance(value, float) and isnan(value)) or value == "":
        return None
    if field in ("seed", "step"):
        return int(value)
    return round(float(value), 1) if field.endswith("_seconds") else value


def run_index(runs: pd.DataFrame, start: Path, data_dir: Path) -> dict[str, Any]:
    """The runs the panel lists, compactly: `fields` names the columns of each run's row in `studies`
    (study -> variant -> rows); `results` and `scripts`: the URL prefixes of `<study>/<run>/grid.png` and
    `<study>/<run>.js` (the study that holds the run: `home`)."""
    fields = ["home", "run", *RUN_FIELDS]
    studies: dict[str, dict[str, list[list[Any]]]] = {}
    for row in runs.to_dict("records"):
        values = [home_study(row), row["run"], *(_cell(f, row.get(f)) for f in RUN_FIELDS)]
        studies.setdefault(str(row["study"]), {}).setdefault(str(row["variant"]), []).append(values)
    return {"fields": fields, "studies": studies, "results": url(RESULTS_DIR, start) + "/",
            "scripts": url(data_dir, start) + "/", "grid": RunFiles.GRID}


def _json_script(obj: Any) -> str:
    """JSON safe inside a <script> element."""
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).replace("</", "<\\/")


def page(params: dict[str, Any], body: str, data: dict[str, Any], links: str) -> str:
    """The whole HTML document (style and script inlined)."""
    n_runs = sum(1 for _ in iter_runs(params))
    toc = " · ".join(f'<a href="#study-{_attr(s)}">{html.escape(s)}</a>' for s in params["studies"])
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>gangrid results</title>"
            f"<style>{(ASSETS / 'browse.css').read_text()}</style></head><body>"
            f"<header><h1>gangrid results</h1><p>{n_runs} runs in {len(params['studies'])} studies. "
            "Click a column heading to sort, pick a value to filter, click a variant to open its runs. "
            f"{links}</p><nav>{toc}</nav></header><main>{body}</main>"
            '<aside id="gg-panel" hidden><button type="button" class="gg-close" title="close (Esc)">×</button>'
            '<div id="gg-panel-body"></div></aside>'
            f'<script id="gg-data" type="application/json">{_json_script(data)}</script>'
            f"<script>{(ASSETS / 'browse.js').read_text()}</script></body></html>\n")


def write_index(params: dict[str, Any], studies: dict[str, list[Block]], out: Path = BROWSE_FILE,
                data_dir: Path = RUN_DATA_DIR, tables_dir: Path = TABLES_DIR) -> Path:
    """Write the browsable report `out` and one script per run under `data_dir`; return `out`."""
    settings = report_settings(params)
    frames = table_frames(tables_dir)
    runs = frames["runs"]
    tables = {t.stem: t for t in study_tables(params, frames, settings)} if len(runs) else {}
    start = out.parent
    numbers = Numbering()
    body = "\n".join(study_html(s, blocks, tables, numbers, start) for s, blocks in studies.items())
    data = run_index(runs, start, data_dir)
    if len(runs):
        write_run_data(params, runs, data_dir)
    links = " ".join(f'<a href="{url(p, start)}">{p.relative_to(start).as_posix()}</a>' for p in (
        start / "report.html", start / "report.md", start / "paper/main.pdf", start / "paper/main.tex") if p.exists())
    write_text(out, page(params, body, data, f"Also: {links}." if links else ""))
    return out
