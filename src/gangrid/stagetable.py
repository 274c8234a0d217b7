"""The one table of pipeline stages: command, code, inputs, outputs and params keys of each.

Everything that wires the stages reads this table: `gangrid pipelines` (the root
dvc.yaml and one pipelines/<study>/dvc.yaml per study), the Snakefile (one rule per
stage) and the resume check of gangrid.training.checkpoints (the train stage's code).
Adding a stage, an output or a dependency is one edit here.

Paths and keys are templates. Placeholders: `{dataset}`, `{study}`, `{run}`,
`{arch}`, `{loss}`, `{trick}` (a run's coordinates) and, in code paths only, `{kind}` (the study kind's own code, `kinds/<kind>`; where the
kind is not known, as in the dataset stages of the root dvc.yaml, every kind's code).
Code paths are relative to src/gangrid/.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gangrid.artifacts import RunFiles

RUN_DIR = "results/{study}/{run}"
INCEPTION_MANIFEST = "models/inception.json"  # written by fetch_inception (gangrid.metrics.inception_weights)


@dataclass(frozen=True)
class Out:
    """One output of a stage.

    `cache`: DVC caches it (small JSON and log files are not cached); `persist`: DVC keeps it
    when the stage reruns (a resumed run appends to its log); `role`: "out", "metric" (DVC
    metrics) or "plot" (DVC plots, x axis `plot_x`); `directory`: a folder (Snakemake's
    directory()); `dvc` / `snakemake`: which orchestrators declare it; `report`: Snakemake
    report() options (caption, category, ...) for outputs shown in `snakemake --report`.
    """

    path: str
    name: str = ""
    cache: bool = True
    persist: bool = False
    role: str = "out"
    plot_x: str = ""
    directory: bool = False
    dvc: bool = True
    snakemake: bool = True
    report: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Stage:
    """A pipeline stage: `gangrid <command> <targets>` over a scope.

    `scope`: "dataset" (one job per dataset), "run" (one per run of a study's grid) or
    "grid" (one job). `resources`: the params section of its scheduling resources
    (`resources.train` / `resources.eval`; None: the profile's defaults); `threads`: the section
    whose `threads` it uses (default: `resources`'s; also the exact torch/BLAS thread count of the
    command, see gangrid.cli); `local`: a quick job run on the submitting machine (Snakemake
    localrules; download needs the internet, which compute nodes often lack).
    """

    name: str
    command: str
    scope: str
    code: tuple[str, ...]
    params: tuple[str, ...]
    deps: tuple[str, ...] = ()
    outs: tuple[Out, ...] = ()
    resources: str | None = None
    threads: str | None = None
    local: bool = False
    quiet: bool = False  # the command takes --quiet (no progress bar) under an orchestrator

    @property
    def thread_section(self) -> str | None:
        """The params section (`train`, `eval`) whose `threads` this stage uses, if any."""
        return self.threads or self.resources

    @property
    def targets(self) -> str:
        """The command's arguments as a template: `{dataset}`, `{study} {run}` or nothing."""
        return {"dataset": "{dataset}", "run": "{study} {run}", "grid": ""}[self.scope]


def _run(name: str) -> str:
    return f"{RUN_DIR}/{name}"


KIND_CODE = ("kinds/__init__.py", "kinds/{kind}")
REPORT_CODE = ("report", "results.py")  # the grid stages: the report package and the results loader it reads runs with
# The code a trained state depends on (the resume check refuses checkpoints of other code).
TRAIN_CODE = ("config.py", "runtime.py", "training", "stages/train.py", *KIND_CODE, "nets", "losses.py", "tricks")

STAGES: dict[str, Stage] = {s.name: s for s in (
    Stage("download", "download", "dataset", code=("data",), params=("datasets.{dataset}",),
          outs=(Out("data/raw/{dataset}", directory=True),), local=True),
    Stage("preprocess", "preprocess", "dataset", code=("data",), params=("datasets.{dataset}",),
          deps=("data/raw/{dataset}",), outs=(Out("data/processed/{dataset}", directory=True),)),
    Stage("train_classifier", "train-classifier", "dataset", code=("classifier.py", "stages/data.py", *KIND_CODE),
          params=("eval.classifier",), deps=("data/processed/{dataset}",),
          outs=(Out("models/classifier/{dataset}.pt", name="model"),
                Out("models/classifier/{dataset}.json", name="metrics", cache=False, role="metric",
                    report={"category": "Classifiers", "labels": {"dataset": "{dataset}"}})),
          resources="eval"),
    # clean-fid's Inception weights, fetched once and checked (eval.extractor: inception; otherwise a note)
    Stage("fetch_inception", "fetch-inception", "grid", code=("metrics/inception.py", "metrics/inception_weights.py"),
          params=("eval.extractor", "eval.inception"), outs=(Out(INCEPTION_MANIFEST, cache=False),), local=True),
    Stage("evaluate_real", "evaluate-real", "dataset", code=("metrics", "stages/evaluate.py", *KIND_CODE),
          params=("eval",), deps=("data/processed/{dataset}", "models/classifier/{dataset}.pt", INCEPTION_MANIFEST),
          outs=(Out("results/real/{dataset}/metrics.json", cache=False, role="metric"),),
          resources="eval"),
    Stage("train", "train", "run", code=TRAIN_CODE,
          params=("train", "studies.{study}.train", "datasets.{dataset}", "archs.{arch}", "losses.{loss}", "tricks.{trick}",
                  "eval.every", "eval.track"),
          # the classifier: in-training metrics score samples on its features
          deps=("data/processed/{dataset}", "models/classifier/{dataset}.pt"),
          outs=(Out(_run(RunFiles.CHECKPOINT), name="checkpoint"),
                Out(_run(RunFiles.CONFIG), name="config", cache=False),
                Out(_run(RunFiles.STATUS), name="status", cache=False),
                Out(_run(RunFiles.TRAIN_LOG), name="log_dir", directory=True, dvc=False),
                # DVCLive's summary and per-step curves; persist: a resumed run appends to its log
                Out(_run(f"{RunFiles.TRAIN_LOG}/metrics.json"), cache=False, persist=True, snakemake=False),
                Out(_run(f"{RunFiles.TRAIN_LOG}/plots/metrics"), cache=False, persist=True, role="plot", plot_x="step",
                    snakemake=False)),
          resources="train", quiet=True),
    Stage("sample", "sample", "run", code=("stages/sample.py", *KIND_CODE),
          params=("eval.n_samples", "eval.sample_seed", "eval.grid_size"),
          deps=(_run(RunFiles.CHECKPOINT), _run(RunFiles.STATUS), "data/processed/{dataset}"),
          outs=(Out(_run(RunFiles.SAMPLES), name="samples"),
                Out(_run(RunFiles.GRID), name="grid",
                    report={"caption": "../report/samples.rst", "category": "Samples", "subcategory": "{study}",
                            "labels": {"study": "{study}", "run": "{run}"}})),
          resources="eval", threads="train"),
    Stage("evaluate", "evaluate", "run", code=("metrics", "stages/evaluate.py", *KIND_CODE), params=("eval",),
          # the checkpoint too: some families score their own trained nets (the semi-supervised D's accuracy)
          deps=(_run(RunFiles.SAMPLES), _run(RunFiles.CHECKPOINT), _run(RunFiles.STATUS), "data/processed/{dataset}",
                "models/classifier/{dataset}.pt", INCEPTION_MANIFEST),
          outs=(Out(_run(RunFiles.METRICS), cache=False, role="metric"),),
          resources="eval"),
    # grid stages: `results` = every run's outputs and every real-data row (a folder for DVC, the files for Snakemake)
    Stage("aggregate", "aggregate", "grid", code=REPORT_CODE, params=("studies", "report"), deps=("results",),
          outs=(Out("reports/tables", cache=False, directory=True,
                    report={"patterns": ["{name}.csv"], "caption": "../report/tables.rst", "category": "Tables"}),),
          local=True),
    Stage("plots", "plots", "grid", code=REPORT_CODE, params=("studies", "report"), deps=("results", "reports/tables"),
          outs=(Out("reports/figures", directory=True,
                    report={"patterns": ["{name}.png"], "caption": "../report/figures.rst", "category": "Figures"}),),
          local=True),
    # results: the browsable report (reports/index.html) shows each run's config, status and curves
    Stage("report", "report", "grid", code=REPORT_CODE, params=("studies", "eval", "report"),
          deps=("results", "reports/tables", "reports/figures"),
          outs=(Out("reports/report.md", name="md", cache=False,
                    report={"caption": "../report/report_md.rst", "category": "Report"}),
                Out("reports/report.html", name="html",
                    report={"caption": "../report/report_html.rst", "category": "Report"}),
                Out("reports/index.html", name="browse"),
                Out("reports/browse", name="run_data", directory=True),
                Out("reports/paper", name="paper", directory=True)), local=True),
)}

DATA_STAGES = tuple(s for s in STAGES.values() if s.scope == "dataset")
RUN_STAGES = tuple(s for s in STAGES.values() if s.scope == "run")
GRID_STAGES = tuple(s for s in STAGES.values() if s.scope == "grid")


def code_paths(stage: Stage, kind: str | tuple[str, ...] | None) -> list[str]:
    """The stage's code under src/gangrid/, `{kind}` resolved for a kind or for each of several kinds (a kind and
    the kinds whose code it builds on: gangrid.kinds.code_kinds); `None`: every kind's code, i.e. all of kinds/."""
    kinds = (kind,) if isinstance(kind, str) else kind
    out: list[str] = []
    for path in stage.code:
        if not kinds:
            paths = ["kinds" if path.startswith("kinds/") else path]
        else:
            paths = [path.format(kind=k) for k in kinds] if "{kind}" in path else [path]
        for p in paths:
            if p not in out:
                out.append(p)
    return out


def stage_of_command(command: str) -> Stage | None:
    """The stage that `gangrid <command>` runs (None for commands that are not pipeline stages)."""
    return next((s for s in STAGES.values() if s.command == command), None)
