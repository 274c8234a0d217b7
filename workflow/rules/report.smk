# Grid-wide stages: aggregate -> plots -> report. They are quick: on a cluster they run on the
# submitting machine (localrules), like `download` (compute nodes often have no internet).

localrules:
    all,
    download,
    aggregate,
    plots,
    report,


rule aggregate:
    input:
        [f"{d}/metrics.json" for d in RUN_DIRS],
        [f"{d}/status.json" for d in RUN_DIRS],
        [f"results/real/{ds}/metrics.json" for ds in DATASETS],
        code("report"),
    output:
        report(
            directory("reports/tables"),
            patterns=["{name}.csv"],
            caption="../report/tables.rst",
            category="Tables",
        ),
    params:
        studies=json.dumps(P["studies"], sort_keys=True),
        settings=REPORT_SETTINGS,
    log:
        "logs/aggregate.log",
    shell:
        "{GANGRID} aggregate > {log} 2>&1"


rule plots:
    input:
        "reports/tables",
        [f"{d}/grid.png" for d in RUN_DIRS],
        [f"{d}/train_log" for d in RUN_DIRS],
        code("report"),
    output:
        report(
            directory("reports/figures"),
            patterns=["{name}.png"],
            caption="../report/figures.rst",
            category="Figures",
        ),
    params:
        studies=json.dumps(P["studies"], sort_keys=True),
        settings=REPORT_SETTINGS,
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
        md=report("reports/report.md", caption="../report/report_md.rst", category="Report"),
        html=report("reports/report.html", caption="../report/report_html.rst", category="Report"),
        paper=directory("reports/paper"),
    params:
        studies=json.dumps(P["studies"], sort_keys=True),
        protocol=EVAL_PROTOCOL,
        settings=REPORT_SETTINGS,
    log:
        "logs/report.log",
    shell:
        "{GANGRID} report > {log} 2>&1"
