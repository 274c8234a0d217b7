"""The memory a GAN run's sample and evaluate stages will need, estimated from params before any job starts.

The model (bytes; N = eval.n_samples, s = the bytes of one sample: C x H x W uint8 for images,
two float32 for 2-D points; K = the dataset's classes):

  sample     2 N s                   the generated batches and their concatenation, + 8 N for labels
  evaluate   2 N s                   the generated samples and the reference set (at most N test samples)
             + 2 N (d + K) 8         fake and real features and class probabilities in float64, per
                                     extractor: the classifier (d = eval.classifier.feature_dim; the
                                     points themselves, d = 2, for 2-D mixtures) and, with
                                     `eval.extractor: inception`, Inception-V3 (d = 2048)
             + 4 d^2 8               the covariance matrices of FID
             + eval.memory_mb        the k-NN / covariance working set
             + B x 3 x 299^2 x 4     one Inception batch (B = eval.inception.batch_size), with inception
  both       + PROCESS_MB            the interpreter with torch, numpy and scipy loaded

The larger of the two must fit in `resources.eval.mem_mb` (the job's memory on a cluster) and in
this machine's memory. Translation studies are not estimated: they translate at most the test
split, whatever N is. The train stage is not estimated either.
"""

from __future__ import annotations

import math
from typing import Any

from gangrid.errors import ConfigError
from gangrid.metrics.knn import DEFAULT_BUDGET_MB
from gangrid.nets import DataSpec
from gangrid.resources import job_resource, machine_memory_mb

PROCESS_MB = 700  # resident size of a stage process once torch, numpy and scipy are imported (measured: ~680 MB)
INCEPTION_DIM = 2048
MB = 2**20


def sample_bytes(data: DataSpec) -> int:
    """Bytes of one generated sample as the stages hold it: uint8 pixels, or float32 coordinates."""
    return math.prod(data.shape) * (1 if data.kind != "points" else 4)


def feature_dims(params: dict[str, Any], dataset: str, data: DataSpec) -> list[int]:
    """The feature width of each extractor the evaluate stage runs on `dataset`."""
    from gangrid.classifier import classifier_cfg

    if data.kind == "points":
        return [data.shape[0]]
    dims = [int(classifier_cfg(params, dataset).get("feature_dim", 128))]
    if params["eval"].get("extractor") == "inception":
        dims.append(INCEPTION_DIM)
    return dims


def stage_mb(params: dict[str, Any], dataset: str, data: DataSpec) -> dict[str, float]:
    """Estimated peak memory (MB) of the sample and evaluate stages of a GAN run on `dataset` (the module's model)."""
    ev = params["eval"]
    n, s, k = int(ev["n_samples"]), sample_bytes(data), data.n_classes
    sample = 2 * n * s + (8 * n if k else 0)
    evaluate = 2 * n * s + float(ev.get("memory_mb", DEFAULT_BUDGET_MB)) * MB
    for d in feature_dims(params, dataset, data):
        evaluate += 2 * n * (d + k) * 8 + 4 * d * d * 8
    if params["eval"].get("extractor") == "inception" and data.kind != "points":
        evaluate += int((ev.get("inception") or {}).get("batch_size", 50)) * 3 * 299 * 299 * 4
    return {"sample": PROCESS_MB + sample / MB, "evaluate": PROCESS_MB + evaluate / MB}


def check_memory(params: dict[str, Any], specs: dict[str, DataSpec], machine_mb: int | None = None) -> None:
    """ConfigError naming eval.n_samples and resources.eval.mem_mb, with the estimate, when a GAN study's sample or
    evaluate stage would need more memory than a job gets or than this machine has (`machine_mb`: measured if None)."""
    from gangrid.kinds import study_kind

    used = {d for study in params["studies"].values() if study_kind(study) == "gan" for d in study["datasets"]}
    limit = int(job_resource(params, "eval", "mem_mb"))
    machine = machine_mb if machine_mb is not None else machine_memory_mb()
    for dataset in (d for d in params["datasets"] if d in used):
        stage, need = max(stage_mb(params, dataset, specs[dataset]).items(), key=lambda item: item[1])
        where = f"eval.n_samples: {int(params['eval']['n_samples'])} samples of '{dataset}' need about " \
                f"{need:,.0f} MB in the {stage} stage"
        if need > limit:
            raise ConfigError(f"{where}, more than resources.eval.mem_mb = {limit} MB: lower eval.n_samples "
                              f"(or eval.memory_mb) or raise resources.eval.mem_mb")
        if machine is not None and need > machine:
            raise ConfigError(f"{where}, more than the {machine:,} MB of memory of this machine: lower eval.n_samples "
                              f"(or eval.memory_mb)")
