"""The report as a list of blocks, rendered to Markdown and to self-contained HTML (the paper renders LaTeX).

Text in blocks is plain text in which `backticks` mark code (run names, keys);
renderers escape everything else. Tables carry the Markdown file written by
`gangrid aggregate` (parsed back into HTML cells), figures their file stem
under reports/figures/.
"""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Union


@dataclass(frozen=True)
class Heading:
    """A section heading (level 1 = title)."""

    text: str
    level: int = 2


@dataclass(frozen=True)
class Paragraph:
    """A paragraph of text."""

    text: str


@dataclass(frozen=True)
class Bullets:
    """A bulleted list."""

    items: tuple[str, ...]


@dataclass(frozen=True)
class TableBlock:
    """A numbered table: file stem under reports/tables/, title, caption and its Markdown body."""

    stem: str
    title: str
    caption: str
    markdown: str


@dataclass(frozen=True)
class FigureBlock:
    """A numbered figure: file stem under reports/figures/ (PNG and PDF) and caption."""

    stem: str
    caption: str


Block = Union[Heading, Paragraph, Bullets, TableBlock, FigureBlock]
CODE = re.compile(r"`([^`]*)`")


# ---------------------------------------------------------------- Markdown


def to_markdown(blocks: list[Block], figures_rel: str = "figures") -> str:
    """The document as GitHub-flavoured Markdown; figures link to `<figures_rel>/<stem>.png`."""
    out: list[str] = []
    n_table = n_figure = 0
    for b in blocks:
        if isinstance(b, Heading):
            out += ["#" * b.level + " " + b.text, ""]
        elif isinstance(b, Paragraph):
            out += [b.text, ""]
        elif isinstance(b, Bullets):
            out += [f"- {item}" for item in b.items] + [""]
        elif isinstance(b, TableBlock):
            n_table += 1
            out += [f"**Table {n_table}. {b.title}.** {b.caption}", "", b.markdown.rstrip(), ""]
        elif isinstance(b, FigureBlock):
            n_figure += 1
            out += [f"![Figure {n_figure}]({figures_rel}/{b.stem}.png)", "", f"*Figure {n_figure}. {b.caption}*", ""]
    return "\n".join(out)


# ---------------------------------------------------------------- HTML


def inline_html(text: str) -> str:
    """Escape text for HTML, turning `code` spans into <code> and **bold** / _italic_ table marks into tags."""
    parts = []
    for i, piece in enumerate(CODE.split(text)):
        if i % 2:
            parts.append(f"<code>{html.escape(piece)}</code>")
        else:
            s = html.escape(piece)
            s = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", s)
            s = re.sub(r"(?<![\w])_(.+?)_(?![\w])", r"<i>\1</i>", s)
            parts.append(s)
    return "".join(parts)


def markdown_table_html(markdown: str) -> str:
    """An HTML <table> from a pipe table as written by the table writer (header, alignment row, body)."""
    lines = [ln.strip() for ln in markdown.strip().splitlines() if ln.strip().startswith("|")]
    if len(lines) < 2:
        return f"<pre>{html.escape(markdown)}</pre>"

    def cells(line: str) -> list[str]:
        return [c.strip() for c in line.strip("|").split("|")]

    aligns = ["right" if c.endswith(":") else "left" for c in cells(lines[1])]
    head = "".join(f'<th style="text-align:{a}">{inline_html(c)}</th>' for c, a in zip(cells(lines[0]), aligns))
    body = []
    for line in lines[2:]:
        tds = "".join(f'<td style="text-align:{a}">{inline_html(c)}</td>' for c, a in zip(cells(line), aligns))
        body.append(f"<tr>{tds}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.45; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { padding: 0.25em 0.7em; border-bottom: 1px solid #ddd; }
thead th { border-bottom: 2px solid #444; }
figure { margin: 1em 0 2em; }
figure img { max-width: 100%; }
figcaption, .caption { font-size: 0.9em; color: #444; }
code { background: #f3f3f3; padding: 0 0.2em; border-radius: 3px; }
"""


def text_html(block: Block) -> str | None:
    """A heading, paragraph or bullet list as HTML; None for a table or figure (each page renders those its way)."""
    if isinstance(block, Heading):
        return f"<h{block.level}>{inline_html(block.text)}</h{block.level}>"
    if isinstance(block, Paragraph):
        return f"<p>{inline_html(block.text)}</p>"
    if isinstance(block, Bullets):
        return "<ul>" + "".join(f"<li>{inline_html(i)}</li>" for i in block.items) + "</ul>"
    return None


def to_html(blocks: list[Block], figures_dir: Path, title: str = "gangrid report") -> str:
    """A self-contained HTML page: inline CSS, every figure embedded as a base64 PNG."""
    out = [f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
           f"<style>{STYLE}</style></head><body>"]
    n_table = n_figure = 0
    for b in blocks:
        text = text_html(b)
        if text is not None:
            out.append(text)
        elif isinstance(b, TableBlock):
            n_table += 1
            out.append(f'<p class="caption"><b>Table {n_table}. {inline_html(b.title)}.</b> {inline_html(b.caption)}</p>')
            out.append(markdown_table_html(b.markdown))
        elif isinstance(b, FigureBlock):
            n_figure += 1
            png = figures_dir / f"{b.stem}.png"
            data = base64.b64encode(png.read_bytes()).decode("ascii") if png.exists() else ""
            out.append(f'<figure><img alt="Figure {n_figure}" src="data:image/png;base64,{data}">'
                       f"<figcaption><b>Figure {n_figure}.</b> {inline_html(b.caption)}</figcaption></figure>")
    out.append("</body></html>\n")
    return "\n".join(out)
