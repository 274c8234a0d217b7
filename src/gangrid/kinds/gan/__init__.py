"""The `gan` study kind: unconditional and class-conditional GANs on images and 2-D point sets.

Its runs train `gangrid.kinds.gan.trainer.GanTrainer`, sample N images (or points) from
fixed noise, and are scored against the held-out test split; it owns image and point
datasets (their domain classifier and real-data row).
"""

from gangrid.kinds import KindInfo, register_kind

register_kind(KindInfo(
    name="gan",
    data_kinds=("image", "points"),
    implementation="gangrid.kinds.gan.kind:GanKind",
    description="GANs sampling from noise (and class labels) on image and 2-D point datasets",
))
