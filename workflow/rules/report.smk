# Grid-wide stages: aggregate -> plots -> report.

RUN_DIRS = [s.dir.as_posix() for s in RUNS.values()]


rule aggregate:
    input:
        [f"{d}/metrics.json" for d in RUN_DIRS],
        [f"{d}/status.json" for d in RUN_DIRS],
        [f"results/real/{ds}/metrics.json" for ds in DATASETS],
        code("report"),
    output:
        directory("reports/tables"),
    params:
        studies=json.dumps(P["studies"], sort_keys=True),
    log:
        "logs/aggregate.log",
    shell:
        "{GANGRID} aggregate > {log} 2>&1"


rule plots:
    input:
        "reports/tables",
        [f"{d}/grid.png" for d in RUN_DIRS],
        code("report"),
    output:
        directory("reports/figures"),
    params:
        studies=json.dumps(P["studies"], sort_keys=True),
    log:
        "logs/plots.log",
    shell:
        "{GANGRID} plots > {log} 2>&1"


rule report:
    input:
        "reports/tables",
        "reports/figures",
        code("report"),
    output:
        "reports/report.md",
    params:
        studies=json.dumps(P["studies"], sort_keys=True),
    log:
        "logs/report.log",
    shell:
        "{GANGRID} report > {log} 2>&1"
