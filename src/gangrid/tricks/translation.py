"""Registers the translation objective terms l1_target, cycle, identity, image_pool (code: gangrid.translation.tricks)."""

import gangrid.translation.tricks  # noqa: F401  (registration side effect)
