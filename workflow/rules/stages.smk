# One rule per stage of the stage table (src/gangrid/stagetable.py): the same commands, inputs,
# outputs and params keys as the DVC pipeline files. Data rules run once per dataset, run rules once
# per run of a study's grid, grid rules once.

localrules:
    all,


# local rules (download, aggregate, plots, report) are quick, or need the internet compute nodes often lack
for _stage in STAGES.values():
    _positional, _named = stage_outputs(_stage)
    _target = target_path(_stage)

    rule:
        name:
            _stage.name
        input:
            stage_inputs(_stage),
        output:
            *_positional,
            **_named,
        params:
            trigger=stage_trigger(_stage),
            command=stage_command(_stage),
        log:
            f"logs/{_stage.name}/{_target}.log" if _target else f"logs/{_stage.name}.log",
        benchmark:
            f"benchmarks/{_stage.name}/{_target}.tsv" if _target else f"benchmarks/{_stage.name}.tsv"
        threads: n_threads(_stage.thread_section)
        resources:
            **job_resources(_stage.resources),
        localrule: _stage.local
        shell:
            "{params.command} > {log} 2>&1"
