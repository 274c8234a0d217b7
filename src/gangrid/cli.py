"""`gangrid <stage>`: one subcommand per pipeline stage, plus `validate`, `runs`, `results`, `compare`, ....

With GANGRID_WORKER set (`gangrid warm -- dvc repro`), a command runs in the warm
worker's forked child instead (gangrid.worker); this module imports little, so
that such a client starts fast.

User errors (bad params, missing files, checksum mismatches) print one line,
`error: ...`, and exit with status 2; no traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable

from gangrid.errors import UserError

Handler = Callable[[argparse.Namespace, dict[str, Any]], int | None]


def _params(args: argparse.Namespace, full: bool = True) -> dict[str, Any]:
    from gangrid.config import load_params

    params = load_params(args.params, args.sets)
    if full:
        from gangrid.preflight import check_params

        check_params(params, deep=args.command in ("validate", "repro"))  # repro: before any job starts
    return params


def _run(args: argparse.Namespace, params: dict[str, Any]):
    from gangrid.config import find_run

    return find_run(params, args.study, args.run)


def cmd_validate(args: argparse.Namespace, params: dict[str, Any]) -> None:
    from gangrid.config import iter_runs

    n = sum(1 for _ in iter_runs(params))
    print(f"{' + '.join([*args.params, *(f'--set {s}' for s in args.sets)])}: ok ({len(params['studies'])} studies, {n} runs)")


def cmd_runs(args: argparse.Namespace, params: dict[str, Any]) -> None:
    from gangrid.config import iter_runs

    specs = list(iter_runs(params, args.study or None))
    if args.format == "json":
        print(json.dumps([{"study": s.study, "run": s.name, "dataset": s.dataset, "arch": s.arch, "loss": s.loss,
                           "trick": s.trick, "seed": s.seed, "dir": s.dir.as_posix()} for s in specs], indent=2))
    else:
        for s in specs:
            print(f"{s.study}/{s.name}")


def cmd_download(args: argparse.Namespace, params: dict[str, Any]) -> None:
    from gangrid.stages.data import run_download

    run_download(params, args.dataset)


def cmd_preprocess(args: argparse.Namespace, params: dict[str, Any]) -> None:
    from gangrid.stages.data import run_preprocess

    run_preprocess(params, args.dataset)


def cmd_train_classifier(args: argparse.Namespace, params: dict[str, Any]) -> None:
    from gangrid.stages.data import run_train_classifier

    metrics = run_train_classifier(params, args.dataset)
    if "test_accuracy" in metrics:
        print(f"classifier {args.dataset}: test accuracy {metrics['test_accuracy']:.4f}")
    else:
        print(f"classifier {args.dataset}: no labels, no classifier (Inception features only)")


def cmd_train(args: argparse.Namespace, params: dict[str, Any]) -> None:
    from gangrid.stages.train import train_run

    status = train_run(params, _run(args, params), progress=not args.quiet)
    print(f"{args.study}/{args.run}: {status['status']} at step {status['step']}")


def cmd_sample(args: argparse.Namespace, params: dict[str, Any]) -> None:
    from gangrid.stages.sample import sample_run

    sample_run(params, _run(args, params))


def cmd_evaluate(args: argparse.Namespace, params: dict[str, Any]) -> None:
    from gangrid.stages.evaluate import evaluate_run

    evaluate_run(params, _run(args, params))


def cmd_translate(args: argparse.Namespace, params: dict[str, Any]) -> None:
    from gangrid.kinds.translation.inference import translate_folder

    written = translate_folder(params, _run(args, params), args.input_dir, args.output_dir, args.direction,
                               args.overlap, args.seed)
    print(f"{args.study}/{args.run}: translated {len(written)} image(s) into {args.output_dir}")


def cmd_evaluate_real(args: argparse.Namespace, params: dict[str, Any]) -> None:
    from gangrid.stages.evaluate import evaluate_real

    evaluate_real(params, args.dataset)


def cmd_fetch_inception(args: argparse.Namespace, params: dict[str, Any]) -> None:
    from gangrid.metrics.inception_weights import fetch_inception

    record = fetch_inception(params)
    print(f"inception weights: {record['weights']} ({record.get('from', 'not used: eval.extractor is ' + record['extractor'])})")


def cmd_aggregate(args: argparse.Namespace, params: dict[str, Any]) -> None:
    from gangrid.report.aggregate import run_aggregate

    run_aggregate(params)


def cmd_plots(args: argparse.Namespace, params: dict[str, Any]) -> None:
    from gangrid.report.plots import run_plots

    run_plots(params)


def cmd_report(args: argparse.Namespace, params: dict[str, Any]) -> None:
    from gangrid.report.writer import run_report

    print(run_report(params))


def cmd_preset(args: argparse.Namespace, params: dict[str, Any]) -> None:
    from gangrid.config import load_params
    from gangrid.pipelines import write_pipelines
    from gangrid.presets import apply_preset

    target = args.params[0]
    apply_preset(target, args.preset)
    write_pipelines(load_params(target))  # a preset may add or remove studies
    print(f"{target}: {args.preset} applied (review with `git diff {target}` or `dvc params diff`)")


def cmd_pipelines(args: argparse.Namespace, params: dict[str, Any]) -> int:
    from gangrid.pipelines import stale, write_pipelines

    if args.check:
        problems = stale(params)
        if problems:
            print(f"error: the DVC pipeline files are out of date with params.yaml ({', '.join(problems)}): "
                  f"run `gangrid pipelines`", file=sys.stderr)
            return 1
        print(f"dvc.yaml, pipelines/: up to date ({len(params['studies'])} studies)")
        return 0
    changes = write_pipelines(params)
    print(f"dvc.yaml, pipelines/: {', '.join(changes) if changes else 'up to date'} ({len(params['studies'])} studies)")
    return 0


def cmd_params_index(args: argparse.Namespace, params: dict[str, Any]) -> None:
    from gangrid.pipelines import write_params_index

    written = write_params_index(params)
    print(f"params index: {', '.join(written) if written else 'up to date'} ({len(params['studies'])} studies)")


def cmd_compare(args: argparse.Namespace, params: dict[str, Any]) -> None:
    from gangrid.report.compare import run_compare

    print(run_compare(args.a, args.b, args.study, args.metric, args.format, args.changed), end="")


def cmd_results(args: argparse.Namespace, params: dict[str, Any]) -> None:
    from gangrid.results import load, write

    frame = load(".", params)
    if args.study:
        frame = frame[frame["study"].isin(args.study)]
    text = write(frame, args.format, args.output)
    if text is not None:
        print(text, end="")
    else:
        print(f"{args.output}: {len(frame)} runs, {len(frame.columns)} columns", file=sys.stderr)


def cmd_repro(args: argparse.Namespace, params: dict[str, Any]) -> int:
    from gangrid.repro import dvc_runner, repro

    from gangrid.errors import UserError

    if args.jobs == "auto":
        jobs = os.cpu_count() or 1
    elif args.jobs.isdigit() and int(args.jobs) >= 1:
        jobs = int(args.jobs)
    else:
        raise UserError(f"--jobs: expected a positive number or `auto`, got {args.jobs!r}")
    return repro(params, jobs, dvc_runner())


def cmd_warm(args: argparse.Namespace, params: dict[str, Any]) -> int:
    from gangrid.worker import warm

    return warm(args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd, args.idle)


def cmd_worker(args: argparse.Namespace, params: dict[str, Any]) -> None:
    from gangrid.worker import serve

    serve(args.socket, args.idle)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the `gangrid` command."""
    parser = argparse.ArgumentParser(prog="gangrid", description="Reproducible GAN ablation grids.")
    parser.add_argument(
        "--params", action="append", metavar="FILE",
        help="params file (default: params.yaml); repeat to overlay presets on it, e.g. "
             "--params params.yaml --params presets/paper.yaml (also: GANGRID_PARAMS=a.yaml:b.yaml)")
    parser.add_argument(
        "--set", action="append", default=[], dest="sets", metavar="KEY=VALUE",
        help="set a params key after the files, e.g. --set train.lr=1e-4 (the value is YAML 1.2; null deletes the key)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, handler: Handler, help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        p.set_defaults(handler=handler)
        return p

    add("validate", cmd_validate, "check params.yaml (structure, names, ranges, settings, memory, every run's build)")
    p = add("preset", cmd_preset, "rewrite params.yaml with a preset overlay applied (comments kept), e.g. presets/paper.yaml")
    p.add_argument("preset", help="preset file: the keys it sets replace params.yaml's (mappings merge, null deletes)")
    p = add("pipelines", cmd_pipelines, "write dvc.yaml and pipelines/<study>/dvc.yaml (the DVC stages) from params.yaml")
    p.add_argument("--check", action="store_true", help="only check that they are up to date (exit 1 if not)")
    add("params-index", cmd_params_index, "write pipelines/<study>/params.json, the params the study's DVC run "
                                          "stages read (a DVC stage runs it when params.yaml changes)")
    p = add("runs", cmd_runs, "list the runs the grid defines")
    p.add_argument("--study", action="append", help="only this study (repeatable)")
    p.add_argument("--format", choices=["names", "json"], default="names")
    for name, handler, help in (
        ("download", cmd_download, "fetch a dataset's raw files (data/raw/<dataset>/)"),
        ("preprocess", cmd_preprocess, "build train/val/test splits (data/processed/<dataset>/)"),
        ("train-classifier", cmd_train_classifier, "train the domain classifier used as feature extractor"),
        ("evaluate-real", cmd_evaluate_real, "metrics of held-out real data: the reference row"),
    ):
        add(name, handler, help).add_argument("dataset")
    for name, handler, help in (
        ("train", cmd_train, "train one run of the grid"),
        ("sample", cmd_sample, "draw samples from a trained run"),
        ("evaluate", cmd_evaluate, "compute a run's metrics"),
    ):
        p = add(name, handler, help)
        p.add_argument("study")
        p.add_argument("run", help="run name, e.g. digits-dcgan16-ns-none-s0 (see `gangrid runs`)")
        if name == "train":
            p.add_argument("--quiet", action="store_true", help="no progress bar")
    p = add("translate", cmd_translate, "translate a folder of images with a trained translation run "
                                        "(sliding window for images larger than the training size)")
    p.add_argument("--study", required=True, help="a study with kind: translation")
    p.add_argument("--run", required=True, help="run name (see `gangrid runs`)")
    p.add_argument("input_dir", type=Path, help="folder of images (png, jpg, ...)")
    p.add_argument("output_dir", type=Path, help="where the translations are written (PNG, same names)")
    p.add_argument("--direction", choices=["ab", "ba"], default="ab", help="ab: A -> B (default); ba: B -> A (CycleGAN)")
    p.add_argument("--overlap", type=float, default=0.5, help="overlap of neighbouring windows, in [0, 1) (default 0.5)")
    p.add_argument("--seed", type=int, default=None, help="seed of pix2pix's test-time dropout (default: eval.sample_seed)")
    add("fetch-inception", cmd_fetch_inception, "fetch clean-fid's Inception weights once, checked against their "
                                                "sha256 (eval.extractor: inception; models/inception.json)")
    add("aggregate", cmd_aggregate, "collect every run into tables (reports/tables/)")
    add("plots", cmd_plots, "draw the figures (reports/figures/)")
    add("report", cmd_report, "write reports/report.md, report.html and reports/paper/ (LaTeX, PDF)")
    p = add("compare", cmd_compare, "params and metric differences between two experiments, side by side")
    p.add_argument("a", help="a directory, git revision or DVC experiment name")
    p.add_argument("b", nargs="?", default=".", help="the same (default: the working tree)")
    p.add_argument("--study", action="append", help="only this study (repeatable)")
    p.add_argument("--metric", action="append", help="only metrics with this name or prefix (repeatable)")
    p.add_argument("--format", choices=["text", "md", "csv", "json"], default="text")
    p.add_argument("--changed", action="store_true", help="only metric rows whose values differ")
    p = add("results", cmd_results, "every run as one table (study, axes, seed, status, convergence, metrics, "
                                    "flattened config, times): gangrid.results.load")
    p.add_argument("--format", choices=["csv", "parquet", "json"], default="csv", help="csv (default), parquet "
                   "(needs pyarrow) or json (one record per run)")
    p.add_argument("-o", "--output", type=Path, help="write to this file (default: standard output; parquet needs one)")
    p.add_argument("--study", action="append", help="only this study (repeatable)")
    p = add("repro", cmd_repro, "dvc repro of the whole pipeline with several stage commands at a time (parallel "
                                "`dvc --wait-for-lock repro` processes on disjoint runs; results as a plain dvc repro)")
    p.add_argument("-j", "--jobs", default="1", help="stage commands at a time: a number or `auto` (CPU count); default 1")
    p = add("warm", cmd_warm, "run a command (e.g. dvc repro) with a warm worker: its gangrid commands skip "
                              "importing torch & co. (forked from a server that imported them once)")
    p.add_argument("cmd", nargs=argparse.REMAINDER, metavar="-- COMMAND", help="the command and its arguments")
    p.add_argument("--idle", type=float, default=600.0, help="the server stops after this many idle seconds (default 600)")
    p = add("worker", cmd_worker, "serve gangrid commands on a Unix socket (clients: GANGRID_WORKER=SOCKET gangrid ...)")
    p.add_argument("--socket", required=True, help="the socket's path (at most 107 bytes)")
    p.add_argument("--idle", type=float, default=600.0, help="stop after this many seconds without a command (default 600)")
    return parser


LIGHT = ("runs", "pipelines", "results", "params-index")  # commands that need the params' structure only (no torch)
THREAD_SECTION = {"translate": "train"}  # commands that are no pipeline stage; stages: the stage table's


def configure_threads(params: dict[str, Any], command: str, args: argparse.Namespace | None = None) -> int:
    """Use exactly `<section>.threads` CPU threads (torch and BLAS): for a run's train / sample stage its
    resolved `train.threads` (an arch, loss, trick or study may set it, e.g. 1 for the tiny 2-D MLPs).

    Float reductions depend on the thread count, so fixing it makes results
    identical whichever orchestrator (and whichever machine load) ran the stage.
    """
    from gangrid.stagetable import stage_of_command

    stage = stage_of_command(command)
    section = THREAD_SECTION.get(command) or (stage.thread_section if stage is not None else None) or "eval"
    threads = int(params.get(section, {}).get("threads", 1))
    if section == "train" and isinstance(getattr(args, "run", None), str) and isinstance(getattr(args, "study", None), str):
        from gangrid.config import find_run, resolve_run

        threads = int(resolve_run(params, find_run(params, args.study, args.run))["train"].get("threads", threads))
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(threads)
    threadpool_limits(threads)
    return threads


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `gangrid` console script."""
    started = time.perf_counter()
    if os.environ.get("GANGRID_WORKER"):  # its children run in-process: they unset it
        from gangrid.worker import delegate

        code = delegate(sys.argv[1:] if argv is None else argv)
        if code is not None:
            return code
    args = build_parser().parse_args(argv)
    env = os.environ.get("GANGRID_PARAMS")
    args.params = args.params or (env.split(os.pathsep) if env else ["params.yaml"])
    try:
        if args.command in ("warm", "worker"):  # no params; the server must import no other gangrid module
            return int(args.handler(args, {}) or 0)
        # compare reads the params of the two experiments it compares, not the working tree's
        params = {} if args.command in ("compare", "preset") else _params(args, full=args.command not in LIGHT)
        if args.command not in (*LIGHT, "validate", "compare", "preset", "repro"):
            configure_threads(params, args.command, args)
        from gangrid.io import transaction
        from gangrid.timings import STAGES, record, stage_target

        with transaction():  # a failing stage removes the outputs it had written: all or none
            code = args.handler(args, params)
        if args.command in STAGES and not code:
            record(args.command, stage_target(args), time.perf_counter() - started)
        return int(code or 0)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a file the stage needs cannot be read or written (permissions, full disk, ...)
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
