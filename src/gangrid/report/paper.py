"""reports/paper/main.tex: the report as a LaTeX article that \\input's the booktabs tables and
\\includegraphics the PDF figures, and its compilation with pdflatex.

Only packages from Debian's texlive-latex-base, -latex-recommended and lmodern
are used. Tables and figures are placed where they are written ([H]) and
shrunk to the text width (never enlarged).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from gangrid.errors import UserError
from gangrid.io import atomic_path, write_text
from gangrid.report.document import CODE, Block, Bullets, FigureBlock, Heading, Paragraph, TableBlock
from gangrid.report.latex import escape

PREAMBLE = r"""\documentclass[10pt]{article}
\usepackage[T1]{fontenc}
\usepackage[utf8]{inputenc}
\usepackage{lmodern}
\usepackage[margin=2cm]{geometry}
\usepackage{amsmath}
\usepackage{booktabs}
\usepackage{graphicx}
\usepackage{float}
\usepackage{caption}
\usepackage{microtype}
\captionsetup{font=small}
\emergencystretch=3em
\newsavebox{\ggbox}
% \ggfit{material}: shrink to the text width (and 80% of the text height), never enlarge.
\newcommand{\ggfit}[1]{%
  \sbox{\ggbox}{#1}%
  \ifdim\wd\ggbox>\linewidth\sbox{\ggbox}{\resizebox{\linewidth}{!}{\usebox{\ggbox}}}\fi
  \ifdim\ht\ggbox>0.8\textheight\sbox{\ggbox}{\resizebox{!}{0.8\textheight}{\usebox{\ggbox}}}\fi
  \usebox{\ggbox}}
"""


def inline_latex(text: str) -> str:
    """Escape text for LaTeX, `code` spans set in typewriter type."""
    return "".join(f"\\texttt{{{escape(p)}}}" if i % 2 else escape(p) for i, p in enumerate(CODE.split(text)))


SECTIONS = {1: "title", 2: "section", 3: "subsection", 4: "subsubsection"}


def to_latex(blocks: list[Block], tables_rel: str = "../tables", figures_rel: str = "../figures") -> str:
    """The whole main.tex for `blocks`; tables and figures are referenced relative to reports/paper/."""
    body: list[str] = []
    title = "gangrid report"
    for b in blocks:
        if isinstance(b, Heading):
            if b.level == 1:
                title = b.text
            else:
                body.append(f"\\{SECTIONS.get(b.level, 'paragraph')}{{{inline_latex(b.text)}}}")
        elif isinstance(b, Paragraph):
            body += [inline_latex(b.text), ""]
        elif isinstance(b, Bullets):
            body += ["\\begin{itemize}"] + [f"  \\item {inline_latex(i)}" for i in b.items] + ["\\end{itemize}"]
        elif isinstance(b, TableBlock):
            body += ["\\begin{table}[H]", "\\centering\\small",
                     f"\\caption{{\\textbf{{{inline_latex(b.title)}.}} {inline_latex(b.caption)}}}",
                     f"\\label{{tab:{b.stem}}}",
                     f"\\ggfit{{\\input{{{tables_rel}/{b.stem}.tex}}}}", "\\end{table}", ""]
        elif isinstance(b, FigureBlock):
            body += ["\\begin{figure}[H]", "\\centering",
                     f"\\ggfit{{\\includegraphics{{{figures_rel}/{b.stem}.pdf}}}}",
                     f"\\caption{{{inline_latex(b.caption)}}}", f"\\label{{fig:{b.stem}}}", "\\end{figure}", ""]
    return (PREAMBLE + f"\\title{{{inline_latex(title)}}}\n\\date{{}}\n\\begin{{document}}\n\\maketitle\n\n"
            + "\n".join(body) + "\n\\end{document}\n")


def write_paper(blocks: list[Block], paper_dir: Path) -> Path:
    """Write `paper_dir/main.tex`; return its path."""
    path = paper_dir / "main.tex"
    write_text(path, to_latex(blocks))
    return path


def pages_from_log(log: str) -> int:
    """Page count from pdflatex's log line `Output written on main.pdf (N pages, ...)`; 0 if absent."""
    match = re.search(r"Output written on .*?\((\d+) pages?", log.replace("\n", ""))
    return int(match.group(1)) if match else 0


def compile_pdf(tex: Path, timeout: int = 180) -> tuple[Path, int]:
    """Compile `tex` with pdflatex (in its folder, output in a temp dir, then moved); return (pdf, pages).

    A UserError carries pdflatex's first error line when compilation fails or
    pdflatex is missing; the full log is left as main.log beside main.tex.
    """
    exe = shutil.which("pdflatex")
    if exe is None:
        raise UserError("pdflatex not found: install TeX Live (texlive-latex-recommended, lmodern) or set report.pdf: never")
    folder = tex.parent
    with tempfile.TemporaryDirectory(prefix=".build-", dir=folder) as build:
        build = str(Path(build).resolve())
        cmd = [exe, "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape", f"-output-directory={build}", tex.name]
        env = {**os.environ, "SOURCE_DATE_EPOCH": "0", "FORCE_SOURCE_DATE": "1"}
        try:
            proc = subprocess.run(cmd, cwd=folder, capture_output=True, text=True, timeout=timeout, env=env,
                                  stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise UserError(f"pdflatex timed out after {timeout} s on {tex}") from None
        build_dir = Path(build)
        log = (build_dir / f"{tex.stem}.log").read_text(errors="replace") if (build_dir / f"{tex.stem}.log").exists() else proc.stdout
        write_text(folder / f"{tex.stem}.log", log)
        pdf = build_dir / f"{tex.stem}.pdf"
        if proc.returncode != 0 or not pdf.exists():
            first = next((ln for ln in log.splitlines() if ln.startswith("!")), "no error line in the log")
            raise UserError(f"pdflatex failed on {tex}: {first} (see {folder / (tex.stem + '.log')})")
        out = folder / f"{tex.stem}.pdf"
        with atomic_path(out) as tmp:
            shutil.copyfile(pdf, tmp)
    return out, pages_from_log(log)
