"""Registers the image-to-image translation families `pix2pix` and `cyclegan` (code: gangrid.translation.nets)."""

import gangrid.translation.nets  # noqa: F401  (registration side effect)
