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
