"""Config resolution (layer order, run names) and validation errors naming the key."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from gangrid.config import RunSpec, config_hash, iter_runs, load_params, resolve_run
from gangrid.errors import ConfigError
from gangrid.validate import validate
from gangrid.config import check_schema

from conftest import REPO


def test_run_names_and_dirs(params):
    runs = list(iter_runs(params))
    n = sum(
        len(s["datasets"]) * len(s["archs"]) * len(s["losses"]) * len(s["tricks"]) * len(s["seeds"])
        for s in params["studies"].values()
    )
    assert len(runs) == n == len({r.name + r.study for r in runs})
    spec = RunSpec("images", "digits", "dcgan16", "hinge", "none", 3)
    assert spec.name == "digits-dcgan16-hinge-none-s3"
    assert spec.dir.as_posix() == "results/images/digits-dcgan16-hinge-none-s3"


def test_resolution_layers_in_order(params):
    params["archs"]["dcgan16"]["train"] = {"batch_size": 16, "lr": 1e-3}
    params["archs"]["dcgan16"]["tricks"] = {"lr_schedule": {"kind": "step"}}
    params["losses"]["hinge"]["train"] = {"lr": 5e-4, "n_critic": 2}
    params["losses"]["hinge"]["tricks"] = {"ema": {"decay": 0.9}}
    params["tricks"]["sn"] = {"spectral_norm": {}, "train": {"lr_d": 4e-4}}
    params["studies"]["images"]["tricks"] = ["none", "sn"]
    params["studies"]["images"]["train"] = {"steps": 7}
    cfg = resolve_run(params, RunSpec("images", "digits", "dcgan16", "hinge", "sn", 0))
    t = cfg["train"]
    assert t["batch_size"] == 16  # arch layer
    assert t["lr"] == 5e-4 and t["n_critic"] == 2  # loss overrides arch
    assert t["lr_d"] == 4e-4 and t["lr_g"] == 5e-4  # trick layer; lr_g falls back to lr
    assert t["steps"] == 7  # study wins
    assert "resources" not in cfg and t["threads"] == params["train"]["threads"]
    assert cfg["tricks"] == {"lr_schedule": {"kind": "step"}, "ema": {"decay": 0.9}, "spectral_norm": {}}  # arch, loss, trick
    assert cfg["dataset"]["resolution"] == 16 and cfg["arch"]["family"] == "dcgan"
    assert cfg["run"]["name"] == "digits-dcgan16-hinge-sn-s0"


def test_precedence_a_later_lr_replaces_an_earlier_lr_pair(params):
    """Issue 17, item 7: "later layers win" holds for the two learning rates: sagan16's TTUR pair
    (arch) yields to WGAN's lr (loss), and a trick's pair beats both."""
    params["studies"]["images"]["archs"] = ["sagan16"]
    params["studies"]["images"]["losses"] = ["wgan", "ns"]
    params["studies"]["images"]["tricks"] = ["none", "ttur"]
    t = resolve_run(params, RunSpec("images", "digits", "sagan16", "wgan", "none", 0))["train"]
    assert (t["lr_g"], t["lr_d"]) == (5e-5, 5e-5)
    t = resolve_run(params, RunSpec("images", "digits", "sagan16", "ns", "none", 0))["train"]
    assert (t["lr_g"], t["lr_d"]) == (1e-4, 4e-4)  # no later layer sets a rate: the arch's pair stands
    t = resolve_run(params, RunSpec("images", "digits", "sagan16", "wgan", "ttur", 0))["train"]
    assert (t["lr_g"], t["lr_d"]) == (1e-4, 4e-4)
    params["studies"]["images"]["train"] = {"lr": 3e-4}
    t = resolve_run(params, RunSpec("images", "digits", "sagan16", "wgan", "ttur", 0))["train"]
    assert (t["lr_g"], t["lr_d"]) == (3e-4, 3e-4)


@pytest.fixture()
def full_params() -> dict:
    """params.yaml with presets/full.yaml overlaid (its architectures study: every family with its paper's recipe)."""
    return copy.deepcopy(load_params([REPO / "params.yaml", REPO / "presets/full.yaml"]))


def test_paper_loss_is_each_architectures_own_and_must_be_named(full_params):
    """`fn: arch` (the `paper` preset) trains each arch with the loss its preset names; an arch without
    one is a one-line error naming the key."""
    params = full_params
    params["studies"]["architectures"]["archs"] = ["dcgan16", "progan16", "biggan16", "stylegan16", "proj16"]
    params["studies"]["architectures"]["losses"] = ["paper"]
    params["studies"]["architectures"]["baseline"]["loss"] = "paper"
    fns = {s.arch: resolve_run(params, s)["loss"]["fn"] for s in iter_runs(params, ["architectures"])}
    assert fns["progan16"] == "wasserstein" and fns["biggan16"] == "hinge" and fns["stylegan16"] == "ns"
    assert "loss" not in resolve_run(params, next(iter_runs(params, ["architectures"])))["arch"]
    del params["archs"]["proj16"]["loss"]
    _expect(params, "archs.proj16.loss: missing; loss preset 'paper' (fn: arch) trains each architecture with the loss "
                    "its preset names (study architectures)")
    params["archs"]["proj16"]["loss"] = "hinj"
    _expect(params, "archs.proj16.loss")


def _paper_recipe(params, study, arch):
    params["studies"][study].update(archs=list(dict.fromkeys([*params["studies"][study]["archs"], arch])), losses=["paper"],
                                    baseline={**params["studies"][study]["baseline"], "loss": "paper"})
    return resolve_run(params, RunSpec(study, params["studies"][study]["datasets"][0], arch, "paper", "none", 0))


def test_family_presets_carry_their_papers_training_recipe(full_params):
    """Issue 17, item 5: ProGAN = WGAN-GP (lambda 10, 1 critic step) + drift 1e-3 + G's EMA; StyleGAN =
    non-saturating + R1 (gamma 10) + G's EMA; BigGAN = hinge, 2 D steps per G step, G 5e-5 / D 2e-4, G's EMA."""
    params = full_params
    progan = _paper_recipe(params, "architectures", "progan16")
    assert progan["loss"]["fn"] == "wasserstein" and progan["train"]["n_critic"] == 1
    assert progan["tricks"]["gradient_penalty"]["weight"] == 10.0 and progan["tricks"]["drift"] == {"epsilon": 1e-3}
    assert progan["tricks"]["ema"]["decay"] == 0.999 and (progan["train"]["lr_g"], progan["train"]["lr_d"]) == (1e-3, 1e-3)
    style = _paper_recipe(params, "architectures", "stylegan16")
    assert style["loss"]["fn"] == "ns" and style["tricks"]["r1"] == {"gamma": 10.0} and "ema" in style["tricks"]
    big = _paper_recipe(params, "architectures", "biggan16")
    assert big["loss"]["fn"] == "hinge" and big["train"]["n_critic"] == 2 and "ema" in big["tricks"]
    assert (big["train"]["lr_g"], big["train"]["lr_d"]) == (5e-5, 2e-4)


def test_paper_preset_trains_each_architecture_with_its_named_recipe():
    """Issue 17, item 9: in presets/paper.yaml the WGAN-GP ResNet trains as WGAN-GP (Wasserstein loss, gradient
    penalty 10, 5 critic steps, Adam 2e-4 (0, 0.9)), not with the hinge loss, and SNGAN with its hinge loss."""
    params = load_params([REPO / "params.yaml", REPO / "presets/paper.yaml"])
    runs = {s.arch: resolve_run(params, s) for s in iter_runs(params, ["architectures"]) if s.seed == 0}
    wgangp = runs["wgangp_resnet32"]
    assert wgangp["loss"]["fn"] == "wasserstein" and wgangp["train"]["n_critic"] == 5
    assert wgangp["tricks"]["gradient_penalty"]["weight"] == 10.0
    assert (wgangp["train"]["lr_g"], wgangp["train"]["betas"]) == (2e-4, [0.0, 0.9])
    assert runs["sngan32"]["loss"]["fn"] == "hinge" and runs["progan32"]["loss"]["fn"] == "wasserstein"


@pytest.mark.parametrize("preset", sorted(p.name for p in (REPO / "presets").glob("*.yaml")))
def test_validate_passes_with_every_preset_overlaid(preset, capsys):
    """`gangrid --params params.yaml --params presets/X.yaml validate` for every preset file."""
    from gangrid.cli import main

    assert main(["--params", str(REPO / "params.yaml"), "--params", str(REPO / "presets" / preset), "validate"]) == 0, \
        capsys.readouterr().err


def test_config_hash_ignores_run_label_but_not_values(params):
    a = resolve_run(params, RunSpec("images", "digits", "dcgan16", "ns", "none", 0))
    b = resolve_run(params, RunSpec("images", "digits", "dcgan16", "ns", "none", 1))
    assert config_hash(a) != config_hash(b)  # the seed is part of the identity
    c = dict(a, run=dict(a["run"], study="other"))
    assert config_hash(c) == config_hash(a)


def _expect(params, message_part):
    with pytest.raises(ConfigError) as exc:
        check_schema(params)
        validate(params)
    assert message_part in str(exc.value), str(exc.value)
    assert "\n" not in str(exc.value)


def test_unknown_preset_names_the_key(params):
    params["studies"]["images"]["losses"].append("wgan_typo")
    _expect(params, "studies.images.losses[")


def test_wrong_type_names_the_key(params):
    params["train"]["steps"] = "many"
    _expect(params, "train.steps")


def test_out_of_range_names_the_key(params):
    params["train"]["batch_size"] = 0
    _expect(params, "train.batch_size")


def test_unknown_trick_module_names_the_preset(params):
    params["tricks"]["bogus"] = {"not_a_trick": {}}
    _expect(params, "tricks.bogus")


def test_unsupported_resolution_is_rejected(params):
    params["datasets"]["digits"]["resolution"] = 12
    _expect(params, "resolution 12x12 not supported")


def test_baseline_must_lie_on_the_axes(params):
    params["studies"]["images"]["baseline"] = {"loss": "lsgan", "trick": "none"}
    _expect(params, "studies.images.baseline.loss")


@pytest.mark.parametrize("study,edit,expected", [
    ("translation", {"datasets": ["digits"]},
     "studies.translation.datasets[0]: 'digits' holds image data; a translation study takes paired or unpaired data "
     "(set `kind: gan` for image sets)"),
    ("images", {"datasets": ["edges2digits"]},
     "studies.images.datasets[0]: 'edges2digits' holds paired data; a gan study takes image or points data "
     "(set `kind: translation` for paired sets)"),
    ("translation", {"archs": ["dcgan16"], "baseline": {"arch": "dcgan16", "loss": "paper", "trick": "none"}},
     "studies.translation.archs[0]: 'dcgan16' (family dcgan) belongs in a gan study, not a translation study"),
    ("images", {"archs": ["pix2pix16"], "baseline": {"arch": "pix2pix16", "loss": "ns", "trick": "none"}},
     "studies.images.archs[0]: 'pix2pix16' (family pix2pix) belongs in a translation study, not a gan study"),
])
def test_study_kind_must_match_its_data_and_architectures(params, study, edit, expected):
    params["studies"][study].update(edit)
    with pytest.raises(ConfigError) as err:
        validate(params)
    assert str(err.value) == expected


@pytest.mark.parametrize("path", ["params.yaml", "presets/paper.yaml", "presets/fashion.yaml", "presets/datasets.yaml"])
def test_params_mean_the_same_after_a_yaml_1_2_rewrite(path, tmp_path):
    """`dvc exp run -S` rewrites params.yaml with ruamel (YAML 1.2), which drops quotes that only YAML 1.1
    needs (`"off"` -> off, read back by PyYAML as False). Every value must survive that round trip."""
    import io

    from ruamel.yaml import YAML

    from gangrid.config import read_yaml

    source = Path(__file__).resolve().parents[1] / path
    rt = YAML()  # round-trip mode, DVC's writer
    buf = io.StringIO()
    rt.dump(rt.load(source.read_text()), buf)
    rewritten = tmp_path / source.name
    rewritten.write_text(buf.getvalue())
    assert read_yaml(rewritten) == read_yaml(source)


# --- issue 21: gangrid, DVC and Snakemake read params the same way (YAML 1.2) ----------------------------

SCALARS = ["2e-3", "1e-4", "1E5", "-1e+2", "2.0e-4", ".5", "1.", "012", "0o17", "0x1F", "1_000", "yes", "off", "True",
           "~", "+.5e3", "1:30"]


def test_params_are_read_as_dvc_reads_them(tmp_path):
    """Every plain scalar means what DVC's own params reader (ruamel, YAML 1.2) says: `lr: 2e-3` is a number."""
    from dvc.utils.serialize._yaml import parse_yaml

    from gangrid.config import read_yaml

    text = "".join(f"k{i}: {v}\n" for i, v in enumerate(SCALARS))
    (tmp_path / "p.yaml").write_text(text)
    ours, dvc = read_yaml(tmp_path / "p.yaml"), parse_yaml(text, "p.yaml")
    assert ours == dvc and [type(v) for v in ours.values()] == [type(v) for v in dvc.values()]
    assert ours["k0"] == 0.002 and ours["k12"] == "off"


def test_hand_written_learning_rates_validate(tmp_path, repo_root):
    """`lr: 2e-3`, the way most people write it, in params.yaml and in a preset's train overrides."""
    text = (repo_root / "params.yaml").read_text()
    for old, new in (("  lr: 2.0e-4\n  betas: [0.5, 0.999]\n", "  lr: 2e-3\n  betas: [0.5, 0.999]\n"),
                     ("  hinge: {fn: hinge}", "  hinge: {fn: hinge, train: {lr: 1e-4}}")):
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    (tmp_path / "params.yaml").write_text(text)
    loaded = load_params(tmp_path / "params.yaml")
    validate(loaded)
    assert loaded["train"]["lr"] == 0.002 and loaded["losses"]["hinge"]["train"]["lr"] == 1e-4


def test_snakemake_config_and_gangrid_set_mean_what_the_file_means(repo_root):
    """`snakemake --config 'train={lr: 1e-4}'` (whose nested values reach the Snakefile as strings) and
    `gangrid --set train.lr=1e-4` give the value `train: {lr: 1e-4}` gives in params.yaml."""
    from snakemake.cli import parse_config

    from gangrid.config import overrides_as_sets

    config = parse_config(["train={lr: 1e-4, betas: [0.0, 0.9], device: cpu}", "losses={hinge: {train: {lr: 2e-3}}}"])
    assert config["train"]["lr"] == "1e-4"  # Snakemake's YAML BaseLoader: every nested scalar is a string
    sets = overrides_as_sets(config)
    assert sets == ["train.lr=0.0001", "train.betas=[0.0, 0.9]", 'train.device="cpu"', "losses.hinge.train.lr=0.002"]
    params = load_params(repo_root / "params.yaml", sets)
    assert params["train"]["lr"] == 1e-4 and params["train"]["betas"] == [0.0, 0.9] and params["train"]["device"] == "cpu"
    assert params["losses"]["hinge"] == {"fn": "hinge", "train": {"lr": 0.002}}
    assert params["train"]["steps"] == load_params(repo_root / "params.yaml")["train"]["steps"]  # mappings merge
    assert load_params(repo_root / "params.yaml", ["train.lr=1e-4"])["train"]["lr"] == 1e-4
    assert "threads" not in load_params(repo_root / "params.yaml", ["train.threads=null"])["train"]


@pytest.mark.parametrize("bad", ["train.lr", "=1", "train..lr=1"])
def test_set_needs_a_dotted_key_and_a_value(repo_root, bad):
    with pytest.raises(ConfigError, match="--set .*expected KEY=VALUE"):
        load_params(repo_root / "params.yaml", [bad])
