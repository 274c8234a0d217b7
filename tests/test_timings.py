"""Stage timers: one record per stage invocation, Snakemake benchmarks, and the report's appendix."""

from __future__ import annotations

import json
from argparse import Namespace
from pathlib import Path

import pytest

from gangrid.timings import read_records, record, stage_target, summary

REPO = Path(__file__).resolve().parents[1]


def test_targets_name_the_study_and_run_or_the_dataset():
    assert stage_target(Namespace(study="modes2d", run="ring8-mlp2d-ns-none-s0")) == "modes2d__ring8-mlp2d-ns-none-s0"
    assert stage_target(Namespace(dataset="digits")) == "digits"
    assert stage_target(Namespace(study=None, format="names")) == "all"


def test_records_replace_their_previous_run_and_summarise_in_pipeline_order(tmp_path):
    timings, bench = tmp_path / "timings", tmp_path / "benchmarks"
    record("train", "s__a", 10.0, timings)
    record("train", "s__a", 4.0, timings)  # a rerun replaces the record
    record("train", "s__b", 6.0, timings)
    record("report", "all", 1.5, timings)
    record("download", "digits", 0.5, timings)
    # a Snakemake benchmark of a target gangrid also timed is not counted twice; others are added
    (bench / "evaluate/s").mkdir(parents=True)
    (bench / "evaluate/s/a.tsv").write_text("s\th:m:s\tmax_rss\n2.50\t0:00:02\t100\n")
    (bench / "train/s").mkdir(parents=True)
    (bench / "train/s/a.tsv").write_text("s\th:m:s\n99.0\t0:01:39\n")
    records = read_records(timings, bench)
    assert len(records) == 5  # download, report, train a (rerun), train b, evaluate a (benchmark)
    rows = summary(records)
    assert [r["stage"] for r in rows] == ["download", "train", "evaluate", "report"]
    train = rows[1]
    assert (train["n"], train["total"], train["mean"], train["max"], train["slowest"]) == (2, 10.0, 5.0, 6.0, "s__b")
    assert rows[2]["total"] == 2.5 and rows[2]["slowest"] == "s__a"


def test_a_stage_command_records_its_time_and_a_failed_one_does_not(in_tmp):
    from gangrid.cli import main

    (in_tmp / "params.yaml").write_text((REPO / "params.yaml").read_text())
    assert main(["download", "ring8"]) == 0
    rec = json.loads((in_tmp / "logs/timings/download/ring8.json").read_text())
    assert rec["stage"] == "download" and rec["target"] == "ring8" and 0 < rec["seconds"] < 60
    assert main(["preprocess", "no_such_dataset"]) == 2
    assert not (in_tmp / "logs/timings/preprocess").exists()
    assert main(["runs"]) == 0 and not (in_tmp / "logs/timings/runs").exists()  # not a pipeline stage


def test_report_appendix_lists_the_time_per_stage(in_tmp):
    from gangrid.report.writer import timing_blocks
    from gangrid.report.document import to_markdown

    assert timing_blocks() == []  # nothing timed yet: no appendix
    record("train", "modes2d__ring8-mlp2d-ns-none-s0", 7.25)
    record("train", "modes2d__ring8-mlp2d-ns-none-s1", 5.0)
    record("sample", "modes2d__ring8-mlp2d-ns-none-s0", 1.5)
    md = to_markdown(timing_blocks())
    assert "## Appendix: time per stage" in md
    assert "Sum: 14 s (0.2 min)" in md
    assert "`train`: 2 invocations, 12 s in all (mean 6.1 s, max 7.2 s: `modes2d__ring8-mlp2d-ns-none-s0`)" in md
    assert md.index("`train`") < md.index("`sample`")


@pytest.mark.parametrize("stage", ["train", "sample", "evaluate"])
def test_snakemake_benchmarks_of_run_rules_map_to_stage_and_target(tmp_path, stage):
    """The Snakefile's benchmark paths are `benchmarks/<rule>/<study>/<run>.tsv`: the same key as gangrid's own."""
    bench = tmp_path / "benchmarks" / stage / "modes2d"
    bench.mkdir(parents=True)
    (bench / "ring8-mlp2d-ns-none-s0.tsv").write_text("s\n3.0\n")
    (rec,) = read_records(tmp_path / "none", tmp_path / "benchmarks")
    assert (rec["stage"], rec["target"], rec["seconds"]) == (stage, "modes2d__ring8-mlp2d-ns-none-s0", 3.0)
