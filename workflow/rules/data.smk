# Per-dataset stages: download, preprocess, domain classifier, real-data reference row.


rule download:
    input:
        code("data"),
    output:
        directory("data/raw/{dataset}"),
    params:
        cfg=lambda w: json.dumps(P["datasets"][w.dataset], sort_keys=True),
    log:
        "logs/download/{dataset}.log",
    resources:
        **placement(),
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
    resources:
        **placement(),
    shell:
        "{GANGRID} preprocess {wildcards.dataset} > {log} 2>&1"


rule train_classifier:
    input:
        "data/processed/{dataset}",
        dataset_code("classifier.py", "stages/data.py"),
    output:
        model="models/classifier/{dataset}.pt",
        metrics=report("models/classifier/{dataset}.json", category="Classifiers", labels={"dataset": "{dataset}"}),
    params:
        cfg=json.dumps(P["eval"].get("classifier", {}), sort_keys=True),
    log:
        "logs/train_classifier/{dataset}.log",
    benchmark:
        "benchmarks/train_classifier/{dataset}.tsv"
    threads: n_threads("eval")
    resources:
        **job_resources("eval", mem_mb=4000, runtime=30),
    shell:
        "{GANGRID} train-classifier {wildcards.dataset} > {log} 2>&1"


rule evaluate_real:
    input:
        "data/processed/{dataset}",
        "models/classifier/{dataset}.pt",
        dataset_code("metrics", "stages/evaluate.py"),
    output:
        "results/real/{dataset}/metrics.json",
    params:
        cfg=EVAL_PROTOCOL,
    log:
        "logs/evaluate_real/{dataset}.log",
    benchmark:
        "benchmarks/evaluate_real/{dataset}.tsv"
    threads: n_threads("eval")
    resources:
        **job_resources("eval", mem_mb=4000, runtime=30),
    shell:
        "{GANGRID} evaluate-real {wildcards.dataset} > {log} 2>&1"
