"""Figures of the encoder (AAE, BiGAN) and super-resolution (SRGAN) studies: the sample grids, training curves and
metric-vs-step curves that GAN studies draw, registered for these kinds, with sample captions of their own."""

from __future__ import annotations

from gangrid.report.plots import Figure, FigureContext, register_figure
from gangrid.report.plots.curves import training_curves
from gangrid.report.plots.progress import metric_vs_step
from gangrid.report.plots.samples import sample_grids

KINDS = ("encoder", "superres")
register_figure("encoder_superres_progress", kinds=KINDS, order=25)(metric_vs_step)
register_figure("encoder_superres_curves", kinds=KINDS, order=30)(training_curves)

ABOUT = {
    "encoder": "Decoded prior samples (fixed noise, seed {seed})",
    "superres": "Super-resolution of fixed test images, one per row: the LR input (nearest-upscaled), the bicubic "
                "upsampling, the SR output and the HR original",
}


@register_figure("encoder_superres_samples", kinds=KINDS, order=10)
def samples(ctx: FigureContext) -> list[Figure]:
    """Each variant's grid.png (first finished seed), captioned for the study's kind."""
    about = ABOUT[ctx.kind].format(seed=ctx.params["eval"].get("sample_seed", 0))
    return [Figure(f.stem, f.study, f"{about}: the first finished seed of each variant of study {ctx.study}.")
            for f in sample_grids(ctx)]
