"""Every arch preset of params.yaml, built tiny: shapes, ranges, one D and one G step with two
losses through the real GanTrainer (implied tricks included), and gradients reaching every parameter.
Plus: resolution checks name the preset, and 3-channel builds of every family."""

from __future__ import annotations

import re

import pytest
import torch

from gangrid.config import ARCH_RECIPE, RunSpec, load_params, resolve_run
from gangrid.errors import ConfigError
from gangrid.nets import ARCHS, DataSpec, build_nets, get_family
from gangrid.kinds.gan.trainer import GanTrainer, sample_latent

from conftest import REPO

PARAMS = load_params(REPO / "params.yaml")
# The noise-to-image (and 2-D point) GAN families; image-to-image translation nets have their own tests.
GAN_FAMILIES = {"mlp", "dcgan", "mnist_conv", "resnet", "projection", "cgan", "acgan", "semisup", "infogan",
                "biggan", "progan", "stylegan"}
PRESETS = [name for name, p in PARAMS["archs"].items() if p["family"] in GAN_FAMILIES]
LOSSES = ["ns", "hinge"]
Z_DIM = 8
# Width keys of the families, shrunk so that every preset builds and steps in well under a second.
TINY = {"g_ch": 8, "d_ch": 8, "base": 8, "hidden": 16, "max_ch": 16, "w_dim": 16, "q_hidden": 16,
        "shared_dim": 8, "g_widths": [16, 16], "d_widths": [16, 16]}


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny nets run fastest single-threaded (and do not fight other processes for cores)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def preset_data(name: str, channels: int = 1) -> DataSpec:
    """The data a preset is meant for: 2-D points, or labelled images at the resolution its name ends in."""
    if name == "mlp2d":
        return DataSpec("points", (2,))
    res = int(re.search(r"(\d+)(?:_[a-z]+)?$", name).group(1))
    return DataSpec("image", (channels, res, res), 10)


def tiny_config(arch: str, loss: str) -> dict:
    """The resolved config of a run of `arch` x `loss`, with tiny widths and batch."""
    study = next(iter(PARAMS["studies"]))
    cfg = resolve_run(PARAMS, RunSpec(study, next(iter(PARAMS["datasets"])), arch, loss, "none", 0))
    cfg["arch"].update({k: v for k, v in TINY.items()})
    cfg["train"].update(batch_size=8, z_dim=Z_DIM, n_critic=1)
    return cfg


def fake_dataset(data: DataSpec, n: int = 32) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Random uint8 images (or float points) and labels."""
    if data.kind == "points":
        return torch.randn(n, *data.shape), None
    return torch.randint(0, 256, (n, *data.shape), dtype=torch.uint8), torch.arange(n) % data.n_classes


def stages(trainer: GanTrainer) -> list[tuple[int, float]]:
    """(stage, alpha) settings to step through: every fade-in stage of a progressive net, else one."""
    n = getattr(trainer.g, "n_stages", 0)
    return [(s, 0.5 if s else 1.0) for s in range(n)] if n else [(-1, 1.0)]


@pytest.mark.parametrize("arch,loss", [(a, l) for a in PRESETS for l in LOSSES])
def test_preset_builds_steps_and_reaches_every_parameter(arch, loss):
    torch.manual_seed(0)
    data = preset_data(arch)
    trainer = GanTrainer(tiny_config(arch, loss), data)
    x, y = fake_dataset(data)
    trainer.attach_data(x, y, seed=0)
    before = {n: p.detach().clone() for n, p in [*trainer.g.named_parameters(prefix="g"), *trainer.d.named_parameters(prefix="d")]}
    reached: set[str] = set()
    for stage, alpha in stages(trainer):
        if stage >= 0:  # step through every resolution of a progressive net (the schedule is tested separately)
            trainer.g.set_progress(stage, alpha)
            trainer.d.set_progress(stage, alpha)
        stats = trainer.iteration()
        assert all(torch.isfinite(v) for v in stats.values()), stats
        for prefix, net in (("g", trainer.g), ("d", trainer.d)):
            for n, p in net.named_parameters(prefix=prefix):
                if p.grad is not None:
                    assert torch.isfinite(p.grad).all(), n
                    reached.add(n)
    assert set(before) - reached == set(), "parameters without gradient"
    after = dict([*trainer.g.named_parameters(prefix="g"), *trainer.d.named_parameters(prefix="d")])
    assert any(not torch.equal(before[n], after[n]) for n in before if n.startswith("g"))
    assert any(not torch.equal(before[n], after[n]) for n in before if n.startswith("d"))

    g = trainer.sampling_generator()
    with torch.no_grad():
        z = sample_latent(g, 5, Z_DIM, torch.device("cpu"), generator=torch.Generator().manual_seed(0))
        labels = torch.arange(5) % data.n_classes if data.n_classes else None
        sample = g(z, labels)
        out = trainer.d.eval()(sample, labels)
    assert sample.shape == (5, *data.shape)
    if data.kind == "image":
        assert sample.min() >= -1 and sample.max() <= 1
    assert out.logits.shape == (5,) and out.features.dim() == 2 and out.features.shape[0] == 5
    assert torch.isfinite(out.logits).all()


@pytest.mark.parametrize("arch", [a for a in PRESETS if a != "mlp2d"])
def test_preset_builds_for_rgb(arch):
    """Every image preset also builds for 3-channel data of its resolution and maps shapes right."""
    data = preset_data(arch, channels=3)
    cfg = {**{k: v for k, v in PARAMS["archs"][arch].items() if k not in ARCH_RECIPE}, **TINY, "name": arch, "z_dim": Z_DIM}
    g, d = build_nets(cfg, data)
    g.eval(), d.eval()
    with torch.no_grad():
        z = sample_latent(g, 2, Z_DIM, torch.device("cpu"), generator=torch.Generator().manual_seed(0))
        x = g(z, torch.tensor([0, 1]))
        assert x.shape == (2, 3, *data.shape[1:])
        assert d(x, torch.tensor([0, 1])).logits.shape == (2,)


UNSUPPORTED = {  # family -> a resolution it must reject
    "mnist_conv": 18, "dcgan": 18, "resnet": 24, "projection": 24, "cgan": 18, "acgan": 18,
    "semisup": 18, "infogan": 18, "biggan": 24, "progan": 24, "stylegan": 24,
}


@pytest.mark.parametrize("family", sorted(UNSUPPORTED))
def test_check_rejects_unsupported_resolution_naming_the_preset(family):
    res = UNSUPPORTED[family]
    cfg = {"family": family, "name": f"my_{family}", "z_dim": Z_DIM}
    with pytest.raises(ConfigError, match=rf"archs\.my_{family}\b.*{res}x{res}"):
        build_nets(cfg, DataSpec("image", (1, res, res), 10))


@pytest.mark.parametrize("family", ["cgan", "acgan", "projection", "semisup", "biggan"])
def test_conditional_families_need_labels_and_refuse_packing(family):
    cfg = {"family": family, "name": "cond", "z_dim": Z_DIM}
    with pytest.raises(ConfigError, match=r"archs\.cond: .*labelled dataset"):
        build_nets(cfg, DataSpec("image", (1, 16, 16), 0))
    with pytest.raises(ConfigError, match=r"archs\.cond: .*packing"):
        build_nets({**cfg, "pack": 2}, DataSpec("image", (1, 16, 16), 10))


def test_image_families_reject_points():
    for family in UNSUPPORTED:
        with pytest.raises(ConfigError, match="needs image data"):
            build_nets({"family": family, "name": "p", "z_dim": Z_DIM}, DataSpec("points", (2,)))


def test_every_gan_family_is_registered_and_has_a_preset():
    get_family("mlp")  # imports every family module
    assert GAN_FAMILIES <= set(ARCHS.names())
    assert {PARAMS["archs"][a]["family"] for a in PRESETS} == GAN_FAMILIES


@pytest.mark.parametrize("family", ["mnist_conv", "cgan", "acgan", "semisup", "infogan", "resnet", "projection", "biggan",
                                    "progan", "stylegan"])
def test_discriminators_honour_mbstd_mbdisc_dropout_and_pack(family):
    """mbstd adds a stddev layer, mbdisc a minibatch-discrimination layer, dropout dropout layers,
    pack multiplies the input channels (unconditional D only: labels cannot be packed)."""
    from gangrid.nets.common import MinibatchDiscrimination, MinibatchStdDev

    cfg = {"family": family, "name": "o", "z_dim": Z_DIM, **TINY, "mbstd": 2, "dropout": 0.3, "mbdisc": {"kernels": 3, "dim": 2}}
    data = DataSpec("image", (1, 16, 16), 10)
    conditional = family in ("cgan", "acgan", "semisup", "projection", "biggan")
    _, d = build_nets({**cfg, "pack": 1 if conditional else 2}, data)
    for layer in (MinibatchStdDev, MinibatchDiscrimination, torch.nn.Dropout):
        assert any(isinstance(m, layer) for m in d.modules()), layer
    x = torch.zeros(3, 1 if conditional else 2, 16, 16)
    assert d.eval()(x, torch.arange(3)).logits.shape == (3,)
