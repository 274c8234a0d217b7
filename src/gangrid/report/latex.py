"""LaTeX text helpers shared by the table writer and the paper writer."""

from __future__ import annotations

import re

_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "±": r"$\pm$",
    "–": "--",
    "—": "---",
    "≤": r"$\leq$",
    "≥": r"$\geq$",
    "α": r"$\alpha$",
    "†": r"$^\dagger$",
    "↓": r"$\downarrow$",
    "↑": r"$\uparrow$",
}
_PATTERN = re.compile("|".join(re.escape(k) for k in _SPECIAL))


def escape(text: object) -> str:
    """`text` with LaTeX's special characters escaped (safe inside normal text and tabular cells)."""
    return _PATTERN.sub(lambda m: _SPECIAL[m.group(0)], str(text))


def inline_code(text: object) -> str:
    """`text` set in typewriter type, escaped (for run names, params keys)."""
    return f"\\texttt{{{escape(text)}}}"
