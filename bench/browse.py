"""The browsable report (reports/index.html) at paper scale: a synthetic grid of 500 runs.

    python bench/browse.py [--runs 500] [--loads 5] [--keep DIR]

A temp folder gets a params.yaml with one study of 2 datasets x 2 archs x 5 losses x 5 tricks
x N/100 seeds (500 runs: 100 variants x 5 seeds) and, for every run, the files a trained and
evaluated run leaves: config.json (the resolved config), status.json (finished, 3% diverged,
10% unconverged), metrics.json (the 12 metrics of an image run), a DVCLive log (6 training
series logged every 100 of 20000 steps, 5 in-training metrics every 500) and a 130 x 130
grid.png. Nothing is trained. Then the aggregate stage and the report stage run (figures
are left out: the page only links to them), and a headless Chromium (Playwright driving
Debian's chromium, as the browser test does) opens the page from its file:// URL `--loads`
times, each in a fresh page.

Printed: the page's size (and gzipped), the per-run scripts' size, the stage times, and in the
browser the medians of: time to the `load` event (navigation start to loadEventEnd), sorting the
largest table by a metric column, filtering it by one loss, and opening a variant's runs until
its sample grid and curves are shown. Also printed: the static report.html's size, for scale.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from browser_util import browser_missing, chromium_page  # noqa: E402

DATASETS = ["digits", "grid25"]
ARCHS = ["dcgan16", "resnet16"]
LOSSES = ["ns", "hinge", "lsgan", "wgan_gp", "minimax"]
TRICKS = ["none", "sn", "ema", "sn+ema", "r1"]
SERIES = ["loss_d", "loss_g", "d_real", "d_fake", "grad_norm_g", "grad_norm_d"]
TRACKED = ["fid359_clf", "kid359_clf", "precision359_clf", "recall359_clf", "coverage359_clf"]
STEPS, LOG_EVERY, EVAL_EVERY = 20000, 100, 500


def grid_params(n_runs: int) -> dict:
    """The repository's params with one study of `n_runs` runs (100 variants x n_runs/100 seeds)."""
    from gangrid.config import load_params

    params = load_params(ROOT / "params.yaml")
    seeds = list(range(max(1, n_runs // 100)))
    params["studies"] = {"paper": {
        "description": "A synthetic paper-scale grid (bench/browse.py).", "datasets": DATASETS, "archs": ARCHS,
        "losses": LOSSES, "tricks": TRICKS, "seeds": seeds, "baseline": {"loss": "ns", "trick": "none"},
        "train": {"steps": STEPS, "log_every": LOG_EVERY}}}
    params["report"] = {**params.get("report", {}), "pdf": "never"}
    return params


def write_run(spec, params: dict, i: int, rng: np.random.Generator, grid_png: bytes) -> None:
    """The files of one trained and evaluated run (see the module docstring)."""
    from gangrid.config import resolve_run
    from gangrid.io import write_json

    d = spec.dir
    write_json(d / "config.json", resolve_run(params, spec))
    log = d / "train_log/plots/metrics"
    (log / "eval").mkdir(parents=True, exist_ok=True)
    diverged = i % 33 == 7
    last = int(rng.integers(20, STEPS // LOG_EVERY)) * LOG_EVERY if diverged else STEPS
    steps = np.arange(LOG_EVERY, last + 1, LOG_EVERY)
    for name in SERIES:
        values = 1.0 + 0.3 * np.sin(steps / 900.0 + i) + 0.05 * rng.standard_normal(len(steps))
        (log / f"{name}.tsv").write_text(f"step\t{name}\n" + "".join(f"{s}\t{v:.6g}\n" for s, v in zip(steps, values)))
    (d / "grid.png").write_bytes(grid_png)
    if diverged:
        write_json(d / "status.json", {"status": "diverged", "step": last, "reason": "loss_d is nan", "device": "cuda",
                                       "train_seconds": 100.0})
        return
    evals = np.arange(EVAL_EVERY, STEPS + 1, EVAL_EVERY)
    level = 10 + 5 * rng.random()
    for name in TRACKED:
        values = level * (1 + 3 * np.exp(-evals / 3000.0)) + 0.1 * rng.standard_normal(len(evals))
        (log / f"eval/{name}.tsv").write_text(f"step\t{name}\n" + "".join(f"{s}\t{v:.6g}\n" for s, v in zip(evals, values)))
    verdict = "unconverged" if i % 10 == 3 else "converged"
    write_json(d / "status.json", {"status": "finished", "step": STEPS, "train_seconds": 3600 + 600 * rng.random(),
                                   "eval_seconds": 120.0, "device": "cuda",
                                   "convergence": {"verdict": verdict, "metric": TRACKED[0]}})
    metrics = {"fid359_clf": level, "kid359_clf": level / 1000, "kid359_clf_std": 0.001, "precision359_clf": rng.random(),
               "recall359_clf": rng.random(), "density359_clf": rng.random(), "coverage359_clf": rng.random(),
               "is359_clf": 8 + rng.random(), "is359_clf_std": 0.1, "class_modes": 10.0, "class_kl": rng.random() / 10,
               "step": STEPS, "protocol": {"n_fake": 359, "n_real": 359}}
    write_json(d / "metrics.json", metrics)


def build(root: Path, n_runs: int) -> dict:
    """The synthetic results tree under `root` (the current directory); returns its params."""
    from PIL import Image

    from gangrid.config import iter_runs

    params = grid_params(n_runs)
    (root / "params.yaml").write_text(json.dumps(params))
    png = root / "grid.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (130, 130), dtype=np.uint8)).save(png)
    grid_png = png.read_bytes()
    rng = np.random.default_rng(0)
    for i, spec in enumerate(iter_runs(params)):
        write_run(spec, params, i, rng, grid_png)
    return params


def measure_page(index: Path, profile: Path, loads: int) -> dict[str, float]:
    """Medians over `loads` fresh pages: load event, sort, filter and open-a-run times (ms)."""
    times: dict[str, list[float]] = {"load": [], "sort": [], "filter": [], "open run": []}
    with chromium_page(profile) as (page, errors):
        for _ in range(loads):
            page.goto("about:blank")
            page.goto(index.as_uri(), wait_until="load")
            nav = page.evaluate("() => { const t = performance.getEntriesByType('navigation')[0]; return t.loadEventEnd; }")
            times["load"].append(nav)
            table = page.evaluate("() => [...document.querySelectorAll('table.gg-table')]"
                                  ".sort((a, b) => b.tBodies[0].rows.length - a.tBodies[0].rows.length)[0].id")
            times["sort"].append(page.evaluate(f"""() => {{
                const th = [...document.querySelectorAll('#{table} thead th')].find(h => h.dataset.type === 'num'
                    && h.textContent.startsWith('fid'));
                const t0 = performance.now(); th.click(); return performance.now() - t0; }}"""))
            times["filter"].append(page.evaluate(f"""() => {{
                const s = document.querySelector('#{table}').closest('section').querySelector('select[name=loss]');
                s.value = 'hinge'; const t0 = performance.now(); s.dispatchEvent(new Event('change'));
                const dt = performance.now() - t0; s.value = ''; s.dispatchEvent(new Event('change')); return dt; }}"""))
            start = page.evaluate("() => performance.now()")
            page.click(f"#{table} tbody tr[data-variant]:not([hidden])")
            page.wait_for_selector("#gg-panel .gg-charts svg")
            page.wait_for_function("() => document.querySelector('#gg-panel img.gg-grid').complete")
            times["open run"].append(page.evaluate("() => performance.now()") - start)
        if errors:
            print(f"console errors: {errors[:3]}")
    return {k: statistics.median(v) for k, v in times.items()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--runs", type=int, default=500)
    p.add_argument("--loads", type=int, default=5)
    p.add_argument("--keep", type=Path, help="build the tree in this folder and keep it")
    args = p.parse_args()
    reason = browser_missing()
    if reason:
        sys.exit(reason)
    from gangrid.report.aggregate import run_aggregate
    from gangrid.report.writer import run_report
    from gangrid.io import write_json

    root = args.keep or Path(tempfile.mkdtemp(prefix="gangrid-browse-"))
    root.mkdir(parents=True, exist_ok=True)
    os.chdir(root)
    t0 = time.perf_counter()
    params = build(root, args.runs)
    t1 = time.perf_counter()
    run_aggregate(params)
    t2 = time.perf_counter()
    write_json(root / "reports/figures/index.json", {"figures": []})
    run_report(params)
    t3 = time.perf_counter()
    index = root / "reports/index.html"
    page = index.read_bytes()
    scripts = sorted((root / "reports/browse").rglob("*.js"))
    sizes = [s.stat().st_size for s in scripts]
    print(f"grid: {args.runs} runs, {len(scripts)} run scripts; tree built in {t1 - t0:.1f} s")
    print(f"aggregate stage: {t2 - t1:.1f} s; report stage (report.md/html, index.html, run scripts): {t3 - t2:.1f} s")
    print(f"index.html: {len(page) / 1024:.0f} KiB ({len(gzip.compress(page)) / 1024:.0f} KiB gzipped); "
          f"report.html (static, no figures here): {(root / 'reports/report.html').stat().st_size / 1024:.0f} KiB")
    print(f"run scripts: mean {statistics.mean(sizes) / 1024:.1f} KiB, max {max(sizes) / 1024:.1f} KiB, "
          f"total {sum(sizes) / 1024 / 1024:.1f} MiB (one is loaded per opened run)")
    medians = measure_page(index, root / ".chromium-profile", args.loads)
    print(f"Chromium, median of {args.loads} loads: " + ", ".join(f"{k} {v:.0f} ms" for k, v in medians.items()))
    print(f"load average: {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs); tree: {root}")


if __name__ == "__main__":
    main()
