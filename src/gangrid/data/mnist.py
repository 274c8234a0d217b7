"""MNIST (LeCun et al.): 70000 28x28 grey handwritten digits, 60000/10000 train/test.

Downloaded from torchvision's mirrors (or copied from params `path`), each .gz
file checked against the md5 torchvision publishes.
"""

from __future__ import annotations

from gangrid.data import SOURCES
from gangrid.data.idx import IdxSource


@SOURCES.register("mnist")
class Mnist(IdxSource):
    """MNIST from a repository folder or a download, md5-checked."""

    title = "MNIST"
    mirrors = ["https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"]
    published_md5 = {
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    }
    class_names = [str(d) for d in range(10)]
