"""Architecture figures: what a family's generator draws of itself (InfoGAN latent traversals, StyleGAN
style mixing), from the first finished seed of each variant whose family registers `figures=True`."""

from __future__ import annotations

from gangrid.io import read_json
from gangrid.plotting import image_grid
from gangrid.report.plots import Figure, FigureContext, pyplot, register_figure, save_figure


def _family_draws_figures(family: str) -> bool:
    """True when architecture family `family` is registered with `figures=True`."""
    from gangrid.nets import ARCHS
    from gangrid.registry import import_submodules

    import_submodules("gangrid.nets")
    return family in ARCHS and ARCHS.get(family).figures


@register_figure("architecture", kinds=("gan",), order=15)
def architecture_figures(ctx: FigureContext) -> list[Figure]:
    """One figure per `figures()` entry of each variant's generator (fixed seed: eval.sample_seed)."""
    seed = int(ctx.params["eval"].get("sample_seed", 0))
    out: list[Figure] = []
    for variant, specs in ctx.variants().items():
        spec = ctx.representative(specs)
        if ctx.status.get(spec.name) != "finished" or not (spec.dir / "checkpoint.pt").exists() \
                or not (spec.dir / "config.json").exists():
            continue
        family = read_json(spec.dir / "config.json")["arch"]["family"]
        if not _family_draws_figures(family):
            continue
        import torch

        from gangrid.kinds import load_finished_run
        from gangrid.nets.figures import arch_figures

        g = load_finished_run(spec.dir, torch.device("cpu")).sampling_generator()
        doc = (type(g).figures.__doc__ or "").strip().splitlines()[0].rstrip(".")
        for name, (images, ncol) in arch_figures(g, seed).items():
            mosaic = image_grid(images, ncol)
            plt = pyplot()
            h, w = mosaic.shape[:2]
            fig, ax = plt.subplots(figsize=(min(7.0, 0.45 * w / 10), min(7.0, 0.45 * h / 10)))
            ax.imshow(mosaic, cmap="gray" if mosaic.ndim == 2 else None, interpolation="nearest")
            ax.axis("off")
            ax.set_title(f"{variant}: {name}", fontsize=7)
            stem = f"arch_{ctx.study}_{variant}_{name}"
            save_figure(fig, ctx.out_dir, stem)
            out.append(Figure(stem, ctx.study, f"{doc} ({family}, variant {variant}, seed {spec.seed}; "
                                               f"figure `{name}`, noise seed {seed})."))
    return out
