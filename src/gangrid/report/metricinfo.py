"""What a metric name means for reporting: its family (one table per family) and which direction is better.

Metric names are generic and carry their protocol, e.g. `fid1k_clf` (FID, 1000
samples, classifier features), `precision1k_clf`, `mode_kl`. A name's *stem* is
its leading word without the sample-count tag (`fid1k_clf` -> `fid`). Families
and directions are looked up by stem (then by any `_`-separated token, so
`mode_kl` is a KL and lower is better). Unknown metrics land in the `other`
family with no direction (never bolded); `report.directions` in params.yaml can
name the direction of a new metric or stem.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping

LOWER, HIGHER = "lower", "higher"


@dataclass(frozen=True)
class Family:
    """A group of metrics reported in one table: key (file-name part), title, member stems."""

    key: str
    title: str
    stems: tuple[str, ...]


# Order = order of the tables in the report. Adding a family is one entry here.
FAMILIES: tuple[Family, ...] = (
    Family("quality", "Sample quality (FID, KID, IS)", ("fid", "kid", "is", "swd", "mmd")),
    Family("prdc", "Precision, recall, density and coverage", ("precision", "recall", "density", "coverage")),
    Family("modes", "Mode coverage on 2-D mixtures", ("modes", "hq", "mode")),
    Family("classes", "Class coverage of generated images", ("class",)),
    Family("translation", "Image-to-image translation", ("ssim", "psnr", "lpips", "cycle", "l1", "mse")),
    Family("accuracy", "Accuracy", ("accuracy", "acc")),
    Family("cost", "Training cost", ("train",)),
    Family("other", "Other metrics", ()),
)
FAMILY_BY_KEY = {f.key: f for f in FAMILIES}

DIRECTIONS: dict[str, str] = {
    **{s: LOWER for s in ("fid", "kid", "kl", "swd", "mmd", "lpips", "cycle", "l1", "mse")},
    **{s: HIGHER for s in ("is", "precision", "recall", "density", "coverage", "modes", "hq",
                           "accuracy", "acc", "ssim", "psnr")},
}

# Stems that end in a digit themselves (`l1`): never read as a stem plus a sample count.
KNOWN_STEMS = frozenset(DIRECTIONS) | {s for f in FAMILIES for s in f.stems}

# Values that describe the protocol rather than measure a run (e.g. the number of modes K).
CONTEXT_TOKENS = ("total",)

# Pretty labels for LaTeX/captions; others are the stem with its first letter upper-cased.
ACRONYMS = {"fid": "FID", "kid": "KID", "is": "IS", "swd": "SWD", "mmd": "MMD", "kl": "KL", "hq": "HQ",
            "ssim": "SSIM", "psnr": "PSNR", "lpips": "LPIPS", "pct": "%", "seconds": "(s)"}


def tokens(name: str) -> list[str]:
    """`_`-separated parts of a metric name with any sample-count tag removed (`fid1k_clf` -> [fid, clf])."""
    return [t if t in KNOWN_STEMS else re.sub(r"\d+k?$", "", t) for t in name.lower().split("_") if t]


def stem(name: str) -> str:
    """The metric's leading word without its sample-count tag: `fid1k_clf` -> `fid`, `hq_pct` -> `hq`."""
    parts = tokens(name)
    return parts[0] if parts else name


def is_context(name: str) -> bool:
    """True for protocol values stored beside metrics (`modes_total`, per-run `_std`): never summarised or tested."""
    return name.endswith("_std") or any(t in CONTEXT_TOKENS for t in tokens(name))


def direction(name: str, overrides: Mapping[str, str] | None = None) -> str | None:
    """'lower' or 'higher' (which is better) for a metric name; None when unknown.

    `overrides` maps full names or stems to a direction and wins over the
    built-in table. The stem decides first (`class_modes` -> modes -> higher),
    then a KL token anywhere (`mode_kl`, `class_kl` -> lower).
    """
    overrides = overrides or {}
    if name in overrides:
        return overrides[name]
    parts = tokens(name)
    if parts and parts[0] in overrides:
        return overrides[parts[0]]
    if is_context(name):
        return None
    if "kl" in parts:
        return LOWER
    for part in parts:
        if part in DIRECTIONS:
            return DIRECTIONS[part]
    return None


def family(name: str) -> Family:
    """The family whose table reports metric `name`: the one claiming its stem, else the first token any family
    claims (`d_accuracy` -> accuracy), else `other`."""
    for part in tokens(name) or [name]:
        for fam in FAMILIES:
            if part in fam.stems:
                return fam
    return FAMILY_BY_KEY["other"]


def label(name: str, latex: bool = False) -> str:
    """A readable column label: `fid1k_clf` -> `FID (1k, clf)`; in LaTeX `FID\\textsubscript{1k,clf}`."""
    parts = name.split("_")
    head = parts[0]
    match = re.fullmatch(r"([a-zA-Z]+)(\d+k?)?", head)
    word, n = (match.group(1), match.group(2)) if match else (head, None)
    words = [ACRONYMS.get(word.lower(), word.capitalize())]
    rest = parts[1:]
    qualifiers = ([n] if n else []) + [p for p in rest if p in ("clf", "inception", "incep")]
    words += [ACRONYMS.get(p, p) for p in rest if p not in qualifiers]
    text = " ".join(words)
    if latex:
        from gangrid.report.latex import escape

        text = escape(text)
        return f"{text}\\textsubscript{{{','.join(qualifiers)}}}" if qualifiers else text
    if not qualifiers:
        return text
    return f"{text} ({', '.join(qualifiers)})"


def arrow(name: str, overrides: Mapping[str, str] | None = None, latex: bool = False) -> str:
    """'↓' / '↑' (LaTeX: $\\downarrow$ / $\\uparrow$) for the better direction, '' when unknown."""
    d = direction(name, overrides)
    if d is None:
        return ""
    if latex:
        return "$\\downarrow$" if d == LOWER else "$\\uparrow$"
    return "↓" if d == LOWER else "↑"
