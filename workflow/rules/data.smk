# Per-dataset stages: download, preprocess, domain classifier, real-data reference row.


rule download:
    output:
        directory("data/raw/{dataset}"),
    params:
        cfg=lambda w: json.dumps(P["datasets"][w.dataset], sort_keys=True),
    log:
        "logs/download/{dataset}.log",
    shell:
        "{GANGRID} download {wildcards.dataset} > {log} 2>&1"


rule preprocess:
    input:
        "data/raw/{dataset}",
        code("data"),
    output:
        directory("data/processed/{dataset}"),
    params:
        cfg=lambda w: json.dumps(P["datasets"][w.dataset], sort_keys=True),
    log:
        "logs/preprocess/{dataset}.log",
    shell:
        "{GANGRID} preprocess {wildcards.dataset} > {log} 2>&1"


rule train_classifier:
    input:
        "data/processed/{dataset}",
        code("classifier.py", "stages/data.py"),
    output:
        model="models/classifier/{dataset}.pt",
        metrics="models/classifier/{dataset}.json",
    params:
        cfg=json.dumps(P["eval"].get("classifier", {}), sort_keys=True),
    log:
        "logs/train_classifier/{dataset}.log",
    threads: resource("eval", "threads", 1)
    shell:
        "{GANGRID} train-classifier {wildcards.dataset} > {log} 2>&1"


rule evaluate_real:
    input:
        "data/processed/{dataset}",
        "models/classifier/{dataset}.pt",
        code("metrics", "stages/evaluate.py"),
    output:
        "results/real/{dataset}/metrics.json",
    params:
        cfg=json.dumps(P["eval"], sort_keys=True),
    log:
        "logs/evaluate_real/{dataset}.log",
    benchmark:
        "benchmarks/evaluate_real/{dataset}.tsv"
    threads: resource("eval", "threads", 1)
    resources:
        mem_mb=resource("eval", "mem_mb", 4000),
        runtime=resource("eval", "runtime", 30),
    shell:
        "{GANGRID} evaluate-real {wildcards.dataset} > {log} 2>&1"
