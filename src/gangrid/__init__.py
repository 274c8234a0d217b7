"""gangrid: reproducible ablation grids for Generative Adversarial Networks."""

__version__ = "0.1.0"
