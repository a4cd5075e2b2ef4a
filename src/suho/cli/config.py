"""Stage configs on the command line: one `--flag` per dataclass field; precedence defaults < YAML file < flags."""

from __future__ import annotations

import argparse
import dataclasses
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

T = TypeVar("T")


def add_dataclass_args(parser: argparse.ArgumentParser, cls: type) -> None:
    """One `--field-name` flag per dataclass field, help from `metadata['help']`; defaults stay None (= not given)."""
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        flag = "--" + f.name.replace("_", "-")
        default = f.default if f.default is not dataclasses.MISSING else None
        help_ = f"{f.metadata.get('help', '')} (default: {default})".replace("%", "%%")  # argparse formats help with %
        typ = hints[f.name]
        base = (
            typing.get_args(typ)[0]
            if typing.get_origin(typ) in (typing.Union, getattr(__import__("types"), "UnionType", None))
            else typ
        )
        if base is bool:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=None, help=help_)
        elif typing.get_origin(base) in (list, tuple):
            parser.add_argument(flag, nargs="+", type=typing.get_args(base)[0], default=None, help=help_)
        else:
            parser.add_argument(flag, type=base if base in (int, float, str) else str, default=None, help=help_)


def add_config_args(parser: argparse.ArgumentParser, cls: type) -> None:
    """`--config FILE` (a YAML file of `cls`'s fields) and one flag per field; `resolve_config` reads them back."""
    parser.add_argument("--config", help=f"YAML file with {cls.__name__} fields (CLI flags override it)")
    add_dataclass_args(parser, cls)


def resolve_config(cls: type[T], yaml_path: str | Path | None, args: argparse.Namespace | None) -> T:
    """Defaults, then the YAML file, then CLI flags that were given. Unknown YAML keys are an error."""
    values: dict[str, Any] = {}
    names = {f.name for f in dataclasses.fields(cls)}
    if yaml_path:
        data = yaml.safe_load(Path(yaml_path).read_text(encoding="utf-8")) or {}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"{yaml_path}: unknown config field(s): {', '.join(unknown)}")
        values.update(data)
    if args is not None:
        values.update({k: v for k, v in vars(args).items() if k in names and v is not None})
    for f in dataclasses.fields(cls):
        if f.name in values and typing.get_origin(f.type) is None and isinstance(values[f.name], list):
            values[f.name] = tuple(values[f.name])
    return cls(**values)
