"""Fashion-MNIST (Xiao et al. 2017): 70000 28x28 grey images of 10 clothing classes, 60000/10000 train/test.

Found first in Debian's `dataset-fashion-mnist` package (`dpkg -L`, else its usual
folder), then params `path`, else downloaded from Zalando's mirror. The package
re-compresses the .gz files, so its copies are checked by the published sha256 of
the decompressed IDX bytes; downloads by torchvision's published md5 of the .gz files.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

from gangrid.data import SOURCES, key_of
from gangrid.data.idx import IDX_FILES, IdxSource

DEBIAN_PACKAGE = "dataset-fashion-mnist"
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")


def debian_dir(package: str = DEBIAN_PACKAGE) -> Path | None:
    """The folder where the installed Debian package keeps the four IDX files, or None."""
    wanted = set(IDX_FILES.values())
    if shutil.which("dpkg"):
        try:
            listing = subprocess.run(["dpkg", "-L", package], capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            listing = None
        if listing is not None and listing.returncode == 0:
            found = {Path(line) for line in listing.stdout.splitlines() if Path(line).name in wanted}
            dirs = {p.parent for p in found if p.is_file()}
            for folder in dirs:
                if all((folder / name).is_file() for name in wanted):
                    return folder
            return None
    if all((DEBIAN_DIR / name).is_file() for name in wanted):
        return DEBIAN_DIR
    return None


@SOURCES.register("fashion_mnist")
class FashionMnist(IdxSource):
    """Zalando's Fashion-MNIST from the Debian package, a repository folder, or a download."""

    title = "Fashion-MNIST"
    options = {**IdxSource.options, "debian": "use the Debian package's files when installed (default true)"}
    mirrors = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"]
    published_md5 = {
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    }
    # sha256 of the decompressed IDX files (the same bytes in every copy, however compressed).
    published_content_sha256 = {
        "train-images-idx3-ubyte.gz": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "train-labels-idx1-ubyte.gz": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "t10k-images-idx3-ubyte.gz": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "t10k-labels-idx1-ubyte.gz": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    }
    class_names = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

    def system_dir(self, cfg: dict[str, Any]) -> tuple[Path, str] | None:
        """The Debian package's folder when installed (and params `debian` is not false)."""
        if not cfg.get("debian", True):
            return None
        folder = debian_dir()
        return (folder, f"Debian package {DEBIAN_PACKAGE}") if folder else None

    def missing_hint(self) -> str:
        """How to get Fashion-MNIST without a download."""
        return (
            f"install the Debian package as root (`sudo apt-get install {DEBIAN_PACKAGE}` or `sudo make data-deps`), "
            f"or set {key_of('path')} to a repository folder holding the four IDX .gz files"
        )
