"""Paper scale in small: Inception metrics through `dvc repro` (stand-in weights), and GPU shares honoured by
Snakemake's scheduler (a fake GPU count: no GPU needed)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from gangrid.config import iter_runs, load_params
from inception_util import write_stand_in
from pipeline_repo import make_repo, sh, tiny_grid

pytestmark = [pytest.mark.pipeline, pytest.mark.slow]


def test_tiny_paper_shaped_grid_with_inception_through_dvc(tmp_path):
    """An image study evaluated with `eval.extractor: inception`: fetch_inception fetches the (stand-in) weights
    into the cache, checked, and every run and the real row get FID, KID, PR/DC and IS on Inception features
    beside the classifier's."""
    weights = write_stand_in(tmp_path / "published")

    def paper_shaped(params):
        tiny_grid(params)
        study = params["studies"].pop("modes2d")
        study.update(datasets=["digits"], archs=["dcgan16"], losses=["ns"], tricks=["none"], seeds=[0],
                     baseline={"loss": "ns", "trick": "none"})
        params["studies"] = {"images": study}
        params["datasets"] = {"digits": load_params(Path(__file__).resolve().parents[1] / "params.yaml")["datasets"]["digits"]}
        params["eval"].update(extractor="inception", device="cpu", metrics=["fid", "kid", "prdc", "is", "class_modes"])
        params["eval"]["inception"].update(url=str(weights), cache="models/inception", batch_size=100,
                                           sha256=hashlib.sha256(weights.read_bytes()).hexdigest())

    repo = make_repo(tmp_path / "repo", edit=paper_shaped, steps=10)
    sh(["dvc", "repro"], repo)
    manifest = json.loads((repo / "models/inception.json").read_text())
    assert manifest["weights"] == "models/inception/inception-2015-12-05.pt" and manifest["from"] == str(weights)
    n = load_params(repo / "params.yaml")["eval"]["n_samples"]
    rows = [repo / spec.dir / "metrics.json" for spec in iter_runs(load_params(repo / "params.yaml"))]
    for path in rows + [repo / "results/real/digits/metrics.json"]:
        metrics = json.loads(path.read_text())
        for stem in ("fid", "kid", "precision", "recall", "density", "coverage", "is"):
            assert f"{stem}{n}_incep" in metrics and f"{stem}{n}_clf" in metrics, (path, stem)
        assert metrics[f"is{n}_incep"] > 1.0 and "incep" in metrics["protocol"]["extractors"]
    assert "fid" in (repo / "reports/report.md").read_text().lower()


def test_gpu_shares_cap_the_jobs_snakemake_runs_at_once(tmp_path):
    """Train jobs that each take one GPU share, 4 runs, `-j 4`, and 2 shares on the (fake) machine: never more
    than 2 train jobs at once, and each job requests its share (dry run)."""

    def shared(params):
        tiny_grid(params)
        params["studies"]["modes2d"]["seeds"] = [0, 1]
        params["resources"]["train"].update(gpu=0, gpu_share=1)
        params["train"]["device"] = "cpu"

    repo = make_repo(tmp_path / "repo", edit=shared, steps=300)
    specs = list(iter_runs(load_params(repo / "params.yaml")))
    assert len(specs) == 4
    targets = [(spec.dir / "status.json").as_posix() for spec in specs]
    dry = sh(["snakemake", "-n", "-j4", *targets], repo).stdout
    blocks = [b for b in dry.split("rule ")[1:] if b.startswith("train:")]
    assert len(blocks) == 4 and all("gpu_share=1" in b and "gres=shard:1" in b for b in blocks), dry

    sh(["snakemake", *targets, "-j4", "--cores", "4", "--resources", "gpu_share=2"], repo, timeout=600)
    spans = []  # a part of each job's run time: `finished` is stamped to the second (rounded down)
    for spec in specs:
        record = json.loads((repo / f"logs/timings/train/{spec.study}__{spec.name}.json").read_text())
        end = _epoch(record["finished"])
        spans.append((end + 1 - record["seconds"], end))
    most = max(sum(1 for s, e in spans if s <= t < e) for t, _ in spans)
    assert most <= 2, spans


def _epoch(stamp: str) -> float:
    import datetime

    return datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S%z").timestamp()
