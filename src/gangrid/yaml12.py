"""Params files read as YAML 1.2, the way DVC reads them, so gangrid, DVC and Snakemake agree on every value.

DVC reads params.yaml with ruamel.yaml (YAML 1.2): `lr: 2e-3` is a float there, but a string
for PyYAML's YAML 1.1 resolver (which wants a dot in a float), and `off` is False in 1.1 but
a string in 1.2. This loader is PyYAML's safe loader (libyaml's parser when present) with
ruamel's YAML 1.2 rules for plain scalars (bool, int, float; null and timestamps are the same
in both), and it refuses a key written twice in one mapping. `resolve_scalar` applies the same
rules to a string from a command line (Snakemake's `--config`, `gangrid --set`).
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from gangrid.errors import ConfigError

# libyaml's parser when PyYAML was built with it (10x faster); the constructor stays the safe one.
_SafeBase = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# ruamel.yaml's YAML 1.2 implicit resolvers (ruamel/yaml/resolver.py), DVC's reader
YAML12 = {
    "tag:yaml.org,2002:bool": (re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), "tTfF"),
    "tag:yaml.org,2002:int": (re.compile(r"""^(?:[-+]?0b[0-1_]+
        |[-+]?0o?[0-7_]+
        |[-+]?[0-9_]+
        |[-+]?0x[0-9a-fA-F_]+)$""", re.X), "-+0123456789"),
    "tag:yaml.org,2002:float": (re.compile(r"""^(?:
         [-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""", re.X), "-+0123456789."),
}
_REPLACED = set(YAML12)


def _int12(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    """A YAML 1.2 int: 0b / 0o / 0x prefixes, else decimal (`012` is 12, not YAML 1.1's octal 10)."""
    text = str(loader.construct_scalar(node)).replace("_", "")
    sign = -1 if text.startswith("-") else 1
    text = text.lstrip("+-")
    for prefix, base in (("0b", 2), ("0o", 8), ("0x", 16)):
        if text.startswith(prefix):
            return sign * int(text[2:], base)
    return sign * int(text, 10)


class UniqueKeyLoader(_SafeBase):  # type: ignore[misc, valid-type]
    """yaml.SafeLoader (no Python tags, no code) with YAML 1.2 scalars that refuses a key written twice in one mapping.

    Plain safe_load keeps the last of two equal keys silently, so a second
    preset with an existing name would replace the first without a word. Keys
    brought in by merge keys (`<<: *anchor`) may still be overridden.
    """

    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag not in _REPLACED]
        for first, resolvers in _SafeBase.yaml_implicit_resolvers.items()
    }

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, (str, int, float, bool)) or key is None:
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key '{key}'", key_node.start_mark)
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


for _tag, (_regexp, _first) in YAML12.items():
    UniqueKeyLoader.add_implicit_resolver(_tag, _regexp, list(_first))
UniqueKeyLoader.add_constructor("tag:yaml.org,2002:int", _int12)


def load_yaml(text: str, source: str) -> Any:
    """The document in `text`, read as YAML 1.2 by the safe loader; malformed YAML names `source` and the line."""
    try:
        return yaml.load(text, Loader=UniqueKeyLoader)  # a SafeLoader: never constructs Python objects
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{source}: malformed YAML{where}: {problem}") from None


def resolve_scalar(text: str) -> Any:
    """A plain scalar from a command line as YAML 1.2 reads it (`1e-4` -> 0.0001, `off` -> 'off', `null` -> None)."""
    if text.strip() in ("", "~", "null", "Null", "NULL"):
        return None
    if any(regexp.match(text) for regexp, _ in YAML12.values()):
        return yaml.load(text, Loader=UniqueKeyLoader)
    return text


def resolve_strings(value: Any) -> Any:
    """`value` with every string inside it resolved by `resolve_scalar` (values that arrive as strings:
    Snakemake's `--config` reads nested values with YAML's BaseLoader, which makes every scalar a string)."""
    if isinstance(value, str):
        return resolve_scalar(value)
    if isinstance(value, dict):
        return {k: resolve_strings(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [resolve_strings(v) for v in value]
    return value
