"""Preset overlays (presets/*.yaml): the keys a preset sets replace those of params.yaml.

Snakemake and the CLI apply a preset on the fly (`--configfile presets/paper.yaml`,
`gangrid --params params.yaml --params presets/paper.yaml`); DVC reads params.yaml
only, so `gangrid preset presets/paper.yaml` rewrites params.yaml with the overlay
applied, keeping its comments, anchors and layout wherever the preset does not
touch it (`git diff params.yaml` / `dvc params diff` show exactly what changed).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from gangrid.config import load_params, read_yaml
from gangrid.io import write_text


def _apply(node: Any, layer: dict[str, Any]) -> None:
    """Overlay `layer` onto a ruamel round-trip mapping in place (mappings merge, null deletes)."""
    for key, value in layer.items():
        if value is None:
            if key in node:
                del node[key]
        elif isinstance(value, dict) and isinstance(node.get(key), dict):
            _apply(node[key], value)
        else:
            node[key] = value


def apply_preset(target: str | Path, preset: str | Path) -> None:
    """Rewrite `target` (params.yaml) with `preset` overlaid; the result is validated before it is written."""
    from ruamel.yaml import YAML

    from gangrid.validate import validate

    validate(load_params([target, preset]))  # fail (one line) before touching the file
    rt = YAML(typ="rt")
    rt.preserve_quotes = True
    rt.width = 120
    rt.indent(mapping=2, sequence=4, offset=2)
    doc = rt.load(Path(target).read_text())
    _apply(doc, read_yaml(preset))
    out = io.StringIO()
    rt.dump(doc, out)
    write_text(target, out.getvalue())
