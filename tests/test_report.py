"""aggregate -> plots -> report on a small results tree, and `gangrid compare`.

The tree is real data (digits, grid25: preprocess + classifier + the real
evaluate stage) with generated samples replaced by controlled ones, so no GAN
is trained: in study `toy` the `ns` generator covers 3 of 25 modes and
`hinge` covers all 25 (a difference the tests must find significant); in study
`img` one `hinge/none` seed and both `hinge/sn` seeds diverged.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gangrid.config import iter_runs, load_params, resolve_run
from gangrid.io import write_json
from gangrid.plotting import save_image_grid, save_points_plot, save_text_image

REPO = Path(__file__).resolve().parents[1]
N = 200


def tree_params() -> dict:
    from gangrid.metrics import METRICS
    from gangrid.registry import import_submodules

    import_submodules("gangrid.metrics")
    params = copy.deepcopy(load_params(REPO / "params.yaml"))
    params["datasets"] = {k: params["datasets"][k] for k in ("grid25", "digits")}
    params["datasets"]["grid25"]["n_points"] = 2000
    mlp = next(k for k, v in params["archs"].items() if v.get("family") == "mlp")
    conv = next(k for k, v in params["archs"].items() if v.get("family") == "dcgan")
    params["losses"].setdefault("hinge", {"fn": "hinge"})
    params["tricks"].setdefault("sn", {"spectral_norm": {"n_power_iterations": 1}})
    params["studies"] = {
        "toy": {"description": "Controlled mode coverage.", "datasets": ["grid25"], "archs": [mlp],
                "losses": ["ns", "hinge"], "tricks": ["none"], "seeds": [0, 1, 2], "baseline": {"loss": "ns", "trick": "none"}, "train": {}},
        "img": {"datasets": ["digits"], "archs": [conv], "losses": ["ns", "hinge"], "tricks": ["none", "sn"],
                "seeds": [0, 1], "baseline": {"loss": "ns", "trick": "none"}, "train": {}},
    }
    ev = params["eval"]
    ev.update({"n_samples": N, "kid_subsets": 5, "kid_subset_size": 100,
               "metrics": [m for m in ("fid", "kid", "prdc", "mixture_modes", "class_modes") if m in METRICS]})
    ev["classifier"].update({"epochs": 1, "width": 8, "feature_dim": 32, "floor": {"default": 0.0}})
    params["report"] = {**params.get("report", {}), "pdf": "always"}
    return params


def fake_samples(spec, rng: np.random.Generator) -> np.ndarray:
    """Controlled 'generator output' for each variant."""
    from gangrid.data.store import load_split, read_manifest

    if spec.dataset == "grid25":
        centers = np.asarray(read_manifest("grid25")["meta"]["centers"])
        modes = rng.choice(len(centers), 3, replace=False) if spec.loss == "ns" else np.arange(len(centers))
        idx = rng.choice(modes, N)
        return (centers[idx] + 0.05 * rng.standard_normal((N, 2))).astype(np.float32)
    x = np.asarray(load_split("digits", "train").x)
    pick = x[rng.choice(len(x), N)]
    noise = rng.integers(-30, 30, pick.shape) if spec.trick == "none" else rng.integers(-90, 90, pick.shape)
    return np.clip(pick.astype(int) + noise, 0, 255).astype(np.uint8)


DIVERGED = {"digits-{conv}-hinge-none-s1", "digits-{conv}-hinge-sn-s0", "digits-{conv}-hinge-sn-s1"}
UNCONVERGED = "digits-{conv}-ns-sn"  # both seeds' tracked FID still falling at the end: no finding may rest on it


def tracked_curve(spec, i: int, unconverged: bool) -> tuple[str, list[float]]:
    """The in-training curve of a fake run: HQ % (2-D) or FID (images), flat at the end unless `unconverged`."""
    steps = np.arange(5, 45, 5)
    if spec.dataset == "grid25":
        return "hq_pct", [90 - 60 * np.exp(-s / 8) + 0.1 * np.sin(s + i) for s in steps]
    end = (lambda s: 40 - 0.8 * s) if unconverged else (lambda s: 10 + 30 * np.exp(-s / 6))
    return f"fid{N}_clf", [end(s) + 0.05 * np.sin(s + i) for s in steps]


def build_tree(params: dict) -> None:
    from gangrid.data.store import read_manifest
    from gangrid.stages.data import run_download, run_preprocess, run_train_classifier
    from gangrid.stages.evaluate import evaluate_real, evaluate_run

    for ds in params["datasets"]:
        run_download(params, ds)
        run_preprocess(params, ds)
        run_train_classifier(params, ds)
        evaluate_real(params, ds)
    from gangrid.training.convergence import Rule, verdict

    conv = params["studies"]["img"]["archs"][0]
    diverged = {d.format(conv=conv) for d in DIVERGED}
    unconverged = UNCONVERGED.format(conv=conv)
    for i, spec in enumerate(iter_runs(params)):
        rng = np.random.default_rng(i)
        d = spec.dir
        write_json(d / "config.json", resolve_run(params, spec))
        steps = np.arange(5, 45, 5)
        stop = 7 if spec.name in diverged else 40
        for series, base in (("loss_d", 1.2), ("loss_g", 0.7)):
            rows = [f"{s}\t{base + 0.1 * np.sin(s / 7 + i)}" for s in steps if s <= stop]
            (d / "train_log/plots/metrics").mkdir(parents=True, exist_ok=True)
            (d / f"train_log/plots/metrics/{series}.tsv").write_text("step\t" + series + "\n" + "\n".join(rows) + "\n")
        if spec.name in diverged:
            write_json(d / "status.json", {"status": "diverged", "step": stop, "train_seconds": 0.5})
            save_text_image(d / "grid.png", f"{spec.name}\ndiverged at step {stop}")
        else:
            metric, values = tracked_curve(spec, i, spec.variant == unconverged)
            (d / "train_log/plots/metrics/eval").mkdir(parents=True, exist_ok=True)
            (d / f"train_log/plots/metrics/eval/{metric}.tsv").write_text(
                f"step\t{metric}\n" + "".join(f"{t}\t{v}\n" for t, v in zip(steps, values)))
            conv_verdict = verdict(steps, values, 40, Rule(min_points=3), metric)
            write_json(d / "status.json", {"status": "finished", "step": 40, "train_seconds": 1.0 + i,
                                           "convergence": conv_verdict})
            x = fake_samples(spec, rng)
            np.savez(d / "samples.npz", x=x, status=np.array("finished"))
            if x.dtype == np.uint8:
                save_image_grid(d / "grid.png", x[:16])
            else:
                save_points_plot(d / "grid.png", x, np.asarray(read_manifest(spec.dataset)["meta"]["centers"]))
        evaluate_run(params, spec)


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    """The tree after aggregate, plots and report; yields (root, params, frames)."""
    from gangrid.report.aggregate import run_aggregate
    from gangrid.report.plots import run_plots
    from gangrid.report.writer import run_report

    root = tmp_path_factory.mktemp("report_tree")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        params = tree_params()
        (root / "params.yaml").write_text(json.dumps(params))  # JSON is YAML
        build_tree(params)
        frames = run_aggregate(params)
        run_plots(params)
        run_report(params)
        yield root, params, frames


def test_runs_table_marks_diverged_runs(tree):
    root, params, frames = tree
    runs = pd.read_csv(root / "reports/tables/runs.csv")
    assert len(runs) == sum(1 for _ in iter_runs(params))
    div = runs[runs["status"] == "diverged"]
    assert len(div) == 3 and set(div["step"]) == {7}
    assert div.filter(like="fid").isna().all().all()  # no metric values for diverged runs
    md = (root / "reports/tables/runs.md").read_text()
    assert md.count("| diverged | – | 7 |") == 3


def test_summary_counts_and_ci(tree):
    from scipy import stats

    root, params, frames = tree
    summary = pd.read_csv(root / "reports/tables/summary.csv")
    conv = params["studies"]["img"]["archs"][0]
    row = summary[(summary["variant"] == f"digits-{conv}-hinge-none")].iloc[0]
    assert (row["n_runs"], row["n_finished"], row["n_diverged"]) == (2, 1, 1)
    runs = frames["runs"]
    vals = runs[(runs["variant"] == "grid25-" + params["studies"]["toy"]["archs"][0] + "-ns-none")]["hq_pct"].to_numpy()
    rec = summary[(summary["study"] == "toy") & (summary["loss"] == "ns") & (summary["metric"] == "hq_pct")].iloc[0]
    low, high = stats.t.interval(0.95, len(vals) - 1, loc=vals.mean(), scale=stats.sem(vals))
    assert (rec["low"], rec["high"]) == pytest.approx((low, high))


def test_significance_finds_the_controlled_difference(tree):
    from scipy import stats

    root, params, frames = tree
    sig = pd.read_csv(root / "reports/tables/significance.csv")
    runs = frames["runs"]
    toy = runs[runs["study"] == "toy"]
    kl = sig[(sig["study"] == "toy") & (sig["metric"] == "mode_kl")].iloc[0]
    a, b = toy[toy["loss"] == "hinge"]["mode_kl"].to_numpy(), toy[toy["loss"] == "ns"]["mode_kl"].to_numpy()
    assert kl["p"] == pytest.approx(stats.ttest_ind(a, b, equal_var=False).pvalue)
    assert kl["p_holm"] == pytest.approx(kl["p"])  # one comparison per metric in toy
    assert kl["significant"] and kl["better"] and kl["effect"] < 0  # hinge spreads over all modes: lower KL
    # Holm: img has 3 comparisons per metric; each adjusted p >= raw p
    img = sig[sig["study"] == "img"]
    assert (img["p_holm"].dropna() >= img["p"].dropna() - 1e-15).all()
    # the all-diverged variant has no values, so it cannot be tested
    assert img[img["variant"].str.endswith("hinge-sn")]["p"].isna().all()


def test_tables_one_file_per_study_and_family(tree):
    root, params, _ = tree
    tables = root / "reports/tables"
    index = json.loads((tables / "index.json").read_text())["tables"]
    stems = {t["stem"] for t in index}
    assert {"toy_modes", "toy_quality", "img_quality", "img_classes"} <= stems
    for stem in stems:
        for ext in ("csv", "md", "tex"):
            assert (tables / f"{stem}.{ext}").stat().st_size > 0
    toy = (tables / "toy_modes.md").read_text()
    assert "real data" in toy and "**" in toy  # real-data row and a bold best value
    assert "**†" in toy  # the best mode_kl is also significantly better than the baseline
    img = (tables / "img_quality.md").read_text()
    assert "1 + 1 div." in img and "0 + 2 div." in img and "diverged" in img and "real data" in img
    tex = (tables / "img_quality.tex").read_text()
    assert r"\toprule" in tex and r"\pm" in tex and r"\textit{diverged}" in tex and r"\mathbf{" in tex


def test_every_figure_exists_as_png_and_pdf(tree):
    root, params, frames = tree
    figures = json.loads((root / "reports/figures/index.json").read_text())["figures"]
    stems = {f["stem"] for f in figures}
    expected = {"samples_toy", "samples_img", "mixtures_toy", "curves_toy", "curves_img", "classes_img", "progress_toy",
                "progress_img", "ranking_toy"}
    assert expected <= stems
    assert any(s.startswith("heatmap_img_digits") for s in stems)  # loss x trick
    assert not any(s.startswith("heatmap_toy") for s in stems)  # one axis (loss): ranked bars, no one-row heatmap
    if any(c.startswith("precision") for c in frames["runs"].columns):
        assert any(s.startswith("pr_img") for s in stems)
    for stem in stems:
        for ext in ("png", "pdf"):
            path = root / "reports/figures" / f"{stem}.{ext}"
            assert path.stat().st_size > 1000, path


def test_report_markdown_and_html(tree):
    root, params, _ = tree
    md = (root / "reports/report.md").read_text()
    for needle in ("## Protocol", "params file sha256", "N = 200", "Study `toy`", "Study `img`",
                   "## Runs that did not finish", "diverged at step 7", "real data"):
        assert needle in md, needle
    assert re.search(r"`hinge`/`none` \(`\w+`\) differs significantly from the baseline on \d+ metrics \(all better", md)
    assert re.search(r"`mode_kl` 0\.\d+ vs 2\.\d+ \(Holm-adjusted p", md)
    assert "`modes` of `hinge`/`none` on `grid25`: 25.0 vs 3.0" in md  # constant per seed: not tested, not claimed
    assert re.search(r"No conclusion is drawn for `ns`/`sn` \(`\w+`\) on `digits`: not every finished run", md)
    assert not re.search(r"`ns`/`sn` \(`\w+`\) differs significantly", md)
    assert "2 (2 unconv.)" in (root / "reports/tables/img_quality.md").read_text()
    assert "Convergence: per run, on its tracked metric" in md
    n_figures = len(json.loads((root / "reports/figures/index.json").read_text())["figures"])
    html = (root / "reports/report.html").read_text()
    assert html.count('src="data:image/png;base64,') == n_figures
    assert 'src="http' not in html and "<table>" in html


def test_browsable_report_page_and_run_scripts(tree):
    """reports/index.html: offline (nothing loaded from elsewhere), a row per variant with the tables' marks, and one
    script per run under reports/browse/ with its config diff against the study's baseline run."""
    root, params, _ = tree
    conv = params["studies"]["img"]["archs"][0]
    page = (root / "reports/index.html").read_text()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page) and "<script src" not in page
    assert f'data-variant="digits-{conv}-ns-sn"' in page and "†" in page and "2 (2 unconv.)" in page
    assert 'src="figures/progress_img.png"' in page and 'id="table-img_quality"' in page
    for spec in iter_runs(params):
        assert (root / "reports/browse" / spec.study / f"{spec.name}.js").exists(), spec.name

    def run_data(study: str, run: str) -> dict:
        text = (root / "reports/browse" / study / f"{run}.js").read_text()
        key, data = re.fullmatch(r"gangrid\.run\((\"[^\"]+\"),(.*)\);\n", text, re.S).groups()
        assert json.loads(key) == f"{study}/{run}"
        return json.loads(data)

    sn = run_data("img", f"digits-{conv}-ns-sn-s1")
    assert sn["baseline"] == f"img/digits-{conv}-ns-none-s1"
    assert ["tricks.spectral_norm.n_power_iterations", "—", 1] in sn["diff"]
    assert sn["status"]["convergence"]["verdict"] == "unconverged" and sn["metrics"]["fid200_clf"] > 0
    assert set(sn["curves"]) == {"loss_d", "loss_g", "eval/fid200_clf"} and len(sn["curves"]["loss_d"][0]) == 8
    assert run_data("img", f"digits-{conv}-ns-none-s0")["diff"] == []


def test_browsable_report_in_chromium(tree, tmp_path):
    """The page in a headless Chromium from a file:// URL: no console error; sorting a column reorders the rows,
    a filter hides rows, a click on a variant opens its runs with the sample grid and the run's curves loaded."""
    from browser_util import browser_missing, chromium_page

    reason = browser_missing()
    if reason:
        pytest.skip(reason)
    root, params, _ = tree
    conv = params["studies"]["img"]["archs"][0]
    rows = "#table-img_quality tbody tr"
    with chromium_page(tmp_path / "profile") as (page, errors):
        page.goto((root / "reports/index.html").as_uri(), wait_until="load")
        variants = lambda: page.eval_on_selector_all(rows, "rs => rs.map(r => r.dataset.variant || 'real')")
        before = variants()
        heading = page.locator("#table-img_quality thead th", has_text="fid200_clf")
        column = page.eval_on_selector_all("#table-img_quality thead th", "hs => hs.map(h => h.textContent)").index(
            heading.inner_text())
        heading.click()
        after = variants()
        assert after != before and sorted(after) == sorted(before)
        keys = page.eval_on_selector_all(rows, f"rs => rs.map(r => r.cells[{column}].dataset.s)")
        values = [float(k) for k in keys if k]
        assert values == sorted(values) and keys[len(values):] == [""] * (len(keys) - len(values))  # no value: last

        page.select_option("section[data-study=img] select[name=loss]", "hinge")
        shown = page.eval_on_selector_all(rows, "rs => rs.filter(r => !r.hidden).map(r => r.dataset.loss)")
        assert len(shown) < len(before) and set(shown) == {"hinge", ""}  # the hinge variants and the real-data row
        page.select_option("section[data-study=img] select[name=loss]", "")

        page.click(f"{rows}[data-variant='digits-{conv}-ns-sn']")
        page.wait_for_selector("#gg-panel .gg-charts svg")
        page.wait_for_function("() => document.querySelector('#gg-panel img.gg-grid').complete")
        assert page.eval_on_selector("#gg-panel img.gg-grid", "img => img.naturalWidth") > 0
        panel = page.inner_text("#gg-panel")
        assert "unconverged" in panel and "tricks.spectral_norm.n_power_iterations" in panel
        assert errors == []


def test_paper_compiles(tree):
    from gangrid.report.paper import pages_from_log

    root, params, _ = tree
    paper = root / "reports/paper"
    tex = (paper / "main.tex").read_text()
    assert r"\input{../tables/toy_modes.tex}" in tex and r"\includegraphics{../figures/mixtures_toy.pdf}" in tex
    assert (paper / "main.pdf").read_bytes()[:5] == b"%PDF-"
    assert pages_from_log((paper / "main.log").read_text()) > 0


def test_compare_directories_and_git_revisions(tree, tmp_path):
    from gangrid.cli import main
    from gangrid.report.compare import run_compare

    root, params, _ = tree
    other = tmp_path / "other"
    other.mkdir()
    changed = copy.deepcopy(params)
    changed["train"]["lr"] = 1e-4
    (other / "params.yaml").write_text(json.dumps(changed))
    runs = pd.read_csv(root / "reports/tables/runs.csv")
    runs.loc[runs["study"] == "toy", "modes"] += 1
    (other / "reports/tables").mkdir(parents=True)
    runs.to_csv(other / "reports/tables/runs.csv", index=False)
    out = run_compare(str(root), str(other), studies=["toy"], metrics=["modes"], changed=True)
    assert re.search(r"train\.lr\s+0\.0002\s+0\.0001", out)
    assert "+1" in out and "hinge" in out and "img" not in out.split("metrics per variant")[1]

    # git revision: commit the tree's run files, then change one run's metrics in the working tree
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    files = ["params.yaml"] + [str(p.relative_to(root)) for p in (root / "results").rglob("*.json")]
    subprocess.run(["git", "add", *files], cwd=root, check=True)
    subprocess.run(["git", "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "grid"], cwd=root, check=True)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        out = run_compare("HEAD", ".", studies=["toy"], metrics=["modes"], fmt="csv")
        assert len(pd.read_csv(__import__("io").StringIO(out))) == 2  # two toy variants
        assert main(["compare", "no-such-rev"]) == 2


def test_points_plot_keeps_edge_and_non_finite_points_off_the_canvas(tmp_path):
    """Points that round onto the last pixel row/column, beyond the limits, or NaN/inf never index out of
    the canvas (a diverged or spread-out generator must still get its figure)."""
    from PIL import Image

    centers = np.array([[1.0, 0.0], [-1.0, 0.0]])
    lim = 1.0 * 1.4 + 0.2
    edge = lim * (2 * 319.7 / 319 - 1)  # pixel 319.7 on both axes: inside before rounding, 320 after
    points = np.array([[edge, -edge], [-lim, lim], [5.0, 5.0], [np.nan, 0.0], [np.inf, 1.0], [0.0, 0.0]])
    save_points_plot(tmp_path / "p.png", points, centers, title="edge", size=320)
    img = np.asarray(Image.open(tmp_path / "p.png"))
    assert img.shape == (336, 320, 3)
    blue = (img == (31, 119, 180)).all(-1)
    assert blue[16 + 160, 160] or blue[16 + 159, 159] or blue[16 + 159, 160] or blue[16 + 160, 159]  # the origin
    assert blue.sum() >= 2


def test_dataset_lines_name_the_reference_set_size_of_every_direction(tmp_path, monkeypatch):
    """Image sets have one reference set (n_real); translation sets one per direction (n_real_ab, n_real_ba)."""
    from gangrid.report.writer import dataset_lines

    monkeypatch.chdir(tmp_path)
    write_json(tmp_path / "results/real/digits/metrics.json", {"protocol": {"n_real": 360}})
    write_json(tmp_path / "results/real/shoes2sandals/metrics.json", {"protocol": {"n_real_ab": 100, "n_real_ba": 90}})
    params = {"datasets": {"digits": {"source": "digits"}, "shoes2sandals": {"source": "fashion_unpaired"},
                           "edges": {"source": "edges"}},
              "studies": {"a": {"datasets": ["digits", "shoes2sandals", "edges"]}}}
    digits, unpaired, missing = dataset_lines(params)
    assert "reference set 360 held-out test samples" in digits
    assert "reference set 100 (ab), 90 (ba) held-out test samples" in unpaired
    assert "reference set" not in missing and "None" not in missing
