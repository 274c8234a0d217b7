"""Sentences stating, from the measured numbers only, which variants differ significantly from the baseline."""

from __future__ import annotations

import math
from math import comb

import pandas as pd

from gangrid.report.settings import ReportSettings
from gangrid.report.tables import TEST_NAMES, decimals

EFFECT_NAMES = {"g": "Hedges' g", "r": "rank-biserial r"}


def _num(x: float, scale: float) -> str:
    """`x` with the decimals that show three significant digits of `scale` (a difference)."""
    return f"{x:.{decimals(abs(scale))}f}"


def _p(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"= {p:.3f}"


def min_mannwhitney_p(na: int, nb: int) -> float:
    """Smallest two-sided p the exact Mann-Whitney U test can give with na vs nb values (no ties)."""
    return min(1.0, 2 / comb(na + nb, na)) if na and nb else math.nan


def _verdict(better) -> str:
    if better is True or better == "True":
        return "better"
    if better is False or better == "False":
        return "worse"
    return "direction unknown"


def finding(rows: pd.DataFrame) -> str:
    """One sentence for a variant's significant differences: per metric its mean vs the baseline's, adjusted p, effect size."""
    first = rows.iloc[0]
    verdicts = sorted({_verdict(r["better"]) for _, r in rows.iterrows()})
    summary = f"all {verdicts[0]}" if len(verdicts) == 1 else ", ".join(
        f"{sum(_verdict(r['better']) == v for _, r in rows.iterrows())} {v}" for v in verdicts)
    parts = []
    for _, r in rows.iterrows():
        effect = EFFECT_NAMES.get(r["effect_name"], r["effect_name"])
        parts.append(f"`{r['metric']}` {_num(r['mean'], r['diff'])} vs {_num(r['mean_baseline'], r['diff'])} "
                     f"(Holm-adjusted p {_p(r['p_holm'])}, {effect} = {r['effect']:.2f})")
    n = f"n = {int(first['n'])} vs {int(first['n_baseline'])} finished seeds"
    metrics = "metric" if len(rows) == 1 else "metrics"
    return (f"On `{first['dataset']}`, `{first['loss']}`/`{first['trick']}` (`{first['arch']}`) differs significantly "
            f"from the baseline on {len(rows)} {metrics} ({summary}; {n}): " + "; ".join(parts) + ".")


def study_findings(study: str, baseline: dict[str, str], significance: pd.DataFrame, settings: ReportSettings) -> list[str]:
    """Paragraph sentences for one study: significant differences, or an honest statement that there are none."""
    sig = significance[significance["study"] == study] if len(significance) else significance
    base = "/".join(f"`{baseline[k]}`" for k in ("loss", "trick")) + (f" (`{baseline['arch']}`)" if "arch" in baseline else "")
    method = (f"{TEST_NAMES[settings.test]} of each variant against the baseline {base} on the same dataset, "
              f"Holm-corrected over the comparisons of each metric, α = {settings.alpha:g}")
    if sig.empty:
        return [f"No comparison with the baseline {base} is possible: the study has no other variant with finished runs."]
    held_back = unconverged_comparisons(sig)
    if "converged" in sig:
        sig = sig[sig["converged"].astype(str) == "True"]
    if sig.empty:
        return held_back + ["No finding is drawn from this study: none of its comparisons is between variants whose "
                            "runs all converged."]
    tested = sig[sig["p"].notna()]
    hits = sig[sig["significant"].astype(str) == "True"]
    sentences = held_back + [f"Method: {method}; {len(tested)} of {len(sig)} comparisons of converged variants could be "
                             "tested (a test needs at least two finished seeds on each side and some variance)."]
    if len(tested) == 0:
        sentences.append("No test could be run, so the tables show no evidence of a difference from the baseline; "
                         "add seeds to the study to test one.")
    elif settings.test == "mannwhitney":
        floor = tested.apply(lambda r: min_mannwhitney_p(int(r["n"]), int(r["n_baseline"])), axis=1).min()
        if floor >= settings.alpha:
            sentences.append(f"With these seed counts the exact Mann-Whitney test cannot give p below {floor:.3f}, "
                             f"so no difference can reach α = {settings.alpha:g}.")
    if len(tested) and hits.empty:
        sentences.append(f"No variant differs significantly from the baseline on any metric "
                         f"(smallest Holm-adjusted p {_p(tested['p_holm'].min())}).")
    elif len(hits):
        sentences += [finding(rows) for _, rows in hits.groupby("variant", sort=False)]
        rest = len(tested) - len(hits)
        sentences.append("Every tested comparison is significant." if rest == 0 else
                         "The other tested comparison is not significant." if rest == 1 else
                         f"The other {rest} tested comparisons are not significant.")
    constant = sig[sig["p"].isna() & (sig["n"] >= 2) & (sig["n_baseline"] >= 2) & (sig["diff"].abs() > 0)]
    if len(constant):
        listed = "; ".join(f"`{r['metric']}` of `{r['loss']}`/`{r['trick']}` on `{r['dataset']}`: "
                           f"{_num(r['mean'], r['diff'])} vs {_num(r['mean_baseline'], r['diff'])}"
                           for _, r in constant.iterrows())
        sentences.append("Not testable because every seed gave the same value, although the means differ "
                         f"(no significance claimed): {listed}.")
    return sentences


def unfinished_runs(runs: pd.DataFrame) -> list[str]:
    """One line per run that did not finish: `study/run`: status (at step N)."""
    lines = []
    for r in runs[runs["status"] != "finished"].itertuples(index=False):
        at = f" at step {int(r.step)}" if isinstance(r.step, (int, float)) and not math.isnan(r.step) else ""
        lines.append(f"`{r.study}/{r.run}`: {r.status}{at}")
    return lines


def unconverged_comparisons(sig: pd.DataFrame) -> list[str]:
    """One sentence naming the variants whose comparisons are held back because some of their (or their
    baseline's) finished runs did not converge; [] when every comparison is between converged variants."""
    if "converged" not in sig:
        return []
    held = sig[(sig["converged"].astype(str) != "True") & (sig["n"] > 0) & (sig["n_baseline"] > 0)].drop_duplicates("variant")
    if held.empty:
        return []
    names = ", ".join(f"`{r['loss']}`/`{r['trick']}` (`{r['arch']}`) on `{r['dataset']}`" for _, r in held.iterrows())
    return [f"No conclusion is drawn for {names}: not every finished run of the variant or of its baseline converged "
            "by the study's convergence rule (see the protocol), so its differences could still be artefacts of "
            "the training budget."]
