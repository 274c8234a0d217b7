"""Figures dispatch on the study kind: a translation study gets triptychs; new kinds plug in by registration."""

from __future__ import annotations

import json

import numpy as np

from gangrid.io import write_json
from gangrid.report.plots import FIGURES, Figure, register_figure, run_plots

PARAMS = {
    "datasets": {"edges": {"source": "folder"}},
    "studies": {"i2i": {"kind": "translation", "datasets": ["edges"], "archs": ["unet"], "losses": ["pix"],
                        "tricks": ["none", "aug"], "seeds": [0], "baseline": {"loss": "pix", "trick": "none"}}},
    "eval": {"n_samples": 8, "extractor": "classifier"},
}


def write_run(name: str, status: str, rng: np.random.Generator) -> None:
    d = f"results/i2i/{name}"
    write_json(f"{d}/status.json", {"status": status, "step": 10})
    if status == "finished":
        imgs = {k: rng.integers(0, 255, (8, 3, 16, 16), dtype=np.uint8) for k in ("src", "x", "target")}
        np.savez(f"{d}/samples.npz", **imgs)


def test_translation_study_gets_triptychs_and_no_gan_figures(in_tmp):
    rng = np.random.default_rng(0)
    write_run("edges-unet-pix-none-s0", "finished", rng)
    write_run("edges-unet-pix-aug-s0", "diverged", rng)
    figures = run_plots(PARAMS)
    stems = {f.stem for f in figures}
    assert stems == {"triptych_i2i"}  # no sample grid / mixture / class figures for translation studies
    for ext in ("png", "pdf"):
        assert (in_tmp / f"reports/figures/triptych_i2i.{ext}").stat().st_size > 1000
    index = json.loads((in_tmp / "reports/figures/index.json").read_text())
    assert index["figures"][0]["study"] == "i2i" and "input, output and target" in index["figures"][0]["caption"]


def test_a_new_study_kind_plugs_in_by_registration(in_tmp):
    calls = []

    @register_figure("probe", kinds=("custom",))
    def probe(ctx):
        calls.append((ctx.study, ctx.kind, [s.name for s in ctx.specs]))
        return [Figure("probe", ctx.study, "probe")]

    try:
        params = json.loads(json.dumps(PARAMS))
        params["studies"]["i2i"]["kind"] = "custom"
        figures = run_plots(params)
    finally:
        FIGURES.pop("probe")
    assert calls == [("i2i", "custom", ["edges-unet-pix-none-s0", "edges-unet-pix-aug-s0"])]
    assert [f.stem for f in figures] == ["probe"]


def summary_frame(study: str, variants: list[tuple[str, str, str]], baseline: tuple[str, str, str]) -> "pd.DataFrame":
    """A per-variant summary (one metric, fid) of `study` on digits: variant i has mean 10 + i, CI ± 1."""
    import pandas as pd

    rows = [{"study": study, "dataset": "digits", "arch": a, "loss": lo, "trick": t, "variant": f"digits-{a}-{lo}-{t}",
             "baseline": (a, lo, t) == baseline, "n_runs": 2, "n_finished": 2 if i != 1 else 0,
             "n_diverged": 0 if i != 1 else 2, "n_unconverged": 1 if i == 2 else 0, "metric": "fid359_clf",
             "n": 2 if i != 1 else 0, "mean": 10.0 + i if i != 1 else np.nan, "std": 1.0, "low": 9.0 + i, "high": 11.0 + i,
             "half": 1.0} for i, (a, lo, t) in enumerate(variants)]
    return pd.DataFrame(rows)


def figure_context(tmp_path, study: dict, summary) -> "FigureContext":
    import pandas as pd

    from gangrid.report.plots import FigureContext
    from gangrid.report.settings import ReportSettings

    params = {"studies": {"s": study}, "eval": {}}
    return FigureContext(params, "s", pd.DataFrame(), summary, pd.DataFrame(), ReportSettings(), tmp_path)


def test_one_axis_studies_get_a_ranked_bar_chart_and_no_one_cell_heatmaps(tmp_path):
    """The architectures study (11 archs x 1 loss x 1 trick) once drew eleven one-cell heatmaps."""
    from gangrid.report.plots.ablation import ablation_heatmaps, ranked_bars

    archs = [f"arch{i}" for i in range(11)]
    study = {"datasets": ["digits"], "archs": archs, "losses": ["ns"], "tricks": ["none"], "seeds": [0, 1]}
    ctx = figure_context(tmp_path, study, summary_frame("s", [(a, "ns", "none") for a in archs], ("arch0", "ns", "none")))
    assert ablation_heatmaps(ctx) == []
    (fig,) = ranked_bars(ctx)
    assert fig.stem == "ranking_s" and "ranked by mean fid359_clf" in fig.caption and "(arch)" in fig.caption
    assert (tmp_path / "ranking_s.png").stat().st_size > 1000 and (tmp_path / "ranking_s.pdf").exists()


def test_two_axis_studies_get_heatmaps_of_those_axes_and_no_ranking(tmp_path):
    from gangrid.report.plots.ablation import ablation_heatmaps, ranked_bars

    study = {"datasets": ["digits"], "archs": ["a", "b"], "losses": ["ns"], "tricks": ["none", "sn"], "seeds": [0, 1]}
    variants = [(a, "ns", t) for a in ("a", "b") for t in ("none", "sn")]
    ctx = figure_context(tmp_path, study, summary_frame("s", variants, ("a", "ns", "none")))
    assert ranked_bars(ctx) == []
    (fig,) = ablation_heatmaps(ctx)  # arch x trick, one per dataset (the loss is fixed)
    assert fig.stem == "heatmap_s_digits_ns" and "each arch x trick" in fig.caption
    study["losses"] = ["ns", "hinge"]
    variants = [(a, lo, t) for a in ("a", "b") for lo in ("ns", "hinge") for t in ("none", "sn")]
    ctx = figure_context(tmp_path, study, summary_frame("s", variants, ("a", "ns", "none")))
    assert [f.stem for f in ablation_heatmaps(ctx)] == ["heatmap_s_digits_a", "heatmap_s_digits_b"]  # loss x trick per arch
