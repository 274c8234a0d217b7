# Per-run stages of every study: train, sample, evaluate (one job each per run of the grid).


rule train:
    input:
        data=lambda w: f"data/processed/{spec(w).dataset}",
        code=study_code(*STAGE_CODE["train"]),
    output:
        checkpoint="results/{study}/{run}/checkpoint.pt",
        config="results/{study}/{run}/config.json",
        status="results/{study}/{run}/status.json",
        log_dir=directory("results/{study}/{run}/train_log"),
    params:
        config=run_config,
    log:
        "logs/train/{study}/{run}.log",
    benchmark:
        "benchmarks/train/{study}/{run}.tsv"
    threads: n_threads("train")
    resources:
        **job_resources("train", mem_mb=8000, runtime=60),
    shell:
        "{GANGRID} train --quiet {wildcards.study} {wildcards.run} > {log} 2>&1"


rule sample:
    input:
        "results/{study}/{run}/checkpoint.pt",
        "results/{study}/{run}/status.json",
        study_code(*STAGE_CODE["sample"]),
    output:
        samples="results/{study}/{run}/samples.npz",
        grid=report(
            "results/{study}/{run}/grid.png",
            caption="../report/samples.rst",
            category="Samples",
            subcategory="{study}",
            labels={"study": "{study}", "run": "{run}"},
        ),
    params:
        protocol=json.dumps(
            [P["eval"]["n_samples"], P["eval"].get("sample_seed", 0), P["eval"].get("grid_size", 8), n_threads("train")]
        ),
    log:
        "logs/sample/{study}/{run}.log",
    threads: n_threads("train")
    resources:
        **job_resources("eval", mem_mb=4000, runtime=30),
    shell:
        "{GANGRID} sample {wildcards.study} {wildcards.run} > {log} 2>&1"


rule evaluate:
    input:
        "results/{study}/{run}/samples.npz",
        "results/{study}/{run}/checkpoint.pt",  # architecture metrics (e.g. the semi-supervised D's accuracy)
        lambda w: f"data/processed/{spec(w).dataset}",
        lambda w: f"models/classifier/{spec(w).dataset}.pt",
        study_code(*STAGE_CODE["evaluate"]),
    output:
        "results/{study}/{run}/metrics.json",
    params:
        cfg=EVAL_PROTOCOL,
    log:
        "logs/evaluate/{study}/{run}.log",
    benchmark:
        "benchmarks/evaluate/{study}/{run}.tsv"
    threads: n_threads("eval")
    resources:
        **job_resources("eval", mem_mb=4000, runtime=30),
    shell:
        "{GANGRID} evaluate {wildcards.study} {wildcards.run} > {log} 2>&1"
