"""A sweep's grid: named settings (flags, a grid file, a saved sweep.json) made axes and fixed
RunSpec fields, each value coerced to its field's type with a clear error."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from engines.errors import InvalidInputError
from engines.fields import WORKLOAD_FIELDS, Kind, parse_text
from engines.spec import SPEC_FIELDS
from profilers.options import MeasureOptions

# Fields a grid sets (from RunSpec's field metadata): all but the per-worker device list, whose
# name is the device axis here. A grid may name a field by its name, its flag or its axis.
_SETTABLE = {info.name: info for info in SPEC_FIELDS if info.kind != "devices"}
_ALIASES: dict[str, str] = {
    alias: info.name for info in _SETTABLE.values() for alias in info.names if alias != info.name
}
_OPTION_ALIASES: dict[str, str] = {"telemetry_interval": "telemetry_interval_s"}
# Options a sweep may set (the rest are for live displays).
_OPTION_FIELDS: tuple[str, ...] = (
    "telemetry_interval_s",
    "price_per_hour",
    "instance_type",
    "price_kind",
    "peak_tflops",
)
# Axis order of the expansion (whatever order the grid gave): the batch size varies fastest.
_AXIS_ORDER = (
    "model",
    "device",
    "dtype",
    "autocast",
    "int8",
    "prune",
    "attention",
    "packing",
    "compile",
    "seq_len",
    "lengths",
    "fasta",
    "token_budget",
    "batch_size",
)
_AXIS_WORDS = {
    "model": "models",
    "device": "devices",
    "dtype": "dtypes",
    "int8": "int8 schemes",
    "prune": "prunings",
    "attention": "attentions",
    "compile": "compile modes",
    "seq_len": "sequence lengths",
    "lengths": "length distributions",
    "token_budget": "token budgets",
    "batch_size": "batch sizes",
}


_KINDS = {name: info.kind + ("?" if info.optional else "") for name, info in _SETTABLE.items()}


def canonical_name(name: str) -> str:
    """The RunSpec or MeasureOptions field a grid setting names (``batch-sizes`` -> batch_size).

    Raises ``InvalidInputError`` for a name that is neither, listing what is accepted."""
    key = name.strip().lstrip("-").lower().replace("-", "_")
    key = _ALIASES.get(key, _OPTION_ALIASES.get(key, key))
    if key in _KINDS:
        return key
    if key in _OPTION_FIELDS:
        return key
    known = sorted(
        {k.replace("_", "-") for k in _KINDS}
        | {k.replace("_", "-") for k in _ALIASES}
        | {k.replace("_", "-") for k in (*_OPTION_FIELDS, *_OPTION_ALIASES)}
    )
    raise InvalidInputError(f"unknown sweep setting '{name}'; known: {', '.join(known)}")


def _coerce(name: str, kind: str, value: Any) -> Any:
    """``value`` (from TOML, YAML or a flag's text) as the field's type, or a clear error."""
    optional = kind.endswith("?")
    base = kind.rstrip("?")
    if value is None or (optional and isinstance(value, str) and value.strip().lower() == "none"):
        if optional:
            return None
        raise InvalidInputError(f"{name}: a value is needed (got none)")
    if base == "size":
        if isinstance(value, str):
            return parse_text("size", value)
        return _coerce(name, "int", value)
    if base == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "yes", "on", "1"):
            return True
        if text in ("false", "no", "off", "0"):
            return False
        raise InvalidInputError(f"{name}: '{value}' is not true or false")
    if base in ("int", "float") and isinstance(value, str):
        number_kind: Kind = "int" if base == "int" else "float"
        return parse_text(number_kind, value.strip(), name)  # the CLI and Setup form reader
    if base == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidInputError(f"{name} must be a whole number (got '{value}')")
        return value
    if base == "float":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidInputError(f"{name} must be a number (got '{value}')")
        return parse_text("float", str(value), name)
    if base == "ints":
        if isinstance(value, str):
            return parse_text("ints", value)
        if isinstance(value, list | tuple):
            return tuple(_coerce(name, "int", item) for item in value)
        raise InvalidInputError(f"{name}: '{value}' is not a list of whole numbers")
    if base == "names":
        if isinstance(value, str):
            return parse_text("names", value)
        if isinstance(value, list | tuple):
            return tuple(str(item).strip() for item in value)
        raise InvalidInputError(f"{name}: '{value}' is not a list of names")
    if isinstance(value, dict | list | tuple):
        raise InvalidInputError(f"{name}: '{value}' is not a single value")
    text = str(value).strip()
    if not text:
        raise InvalidInputError(f"{name}: empty value")
    return text


def _option_kind(name: str) -> str:
    return {
        "telemetry_interval_s": "float",
        "price_per_hour": "float?",
        "instance_type": "str?",
        "price_kind": "str",
        "peak_tflops": "float?",
    }[name]


@dataclass(frozen=True)
class SweepGrid:
    """What a sweep runs: ``axes`` (RunSpec field -> the values it takes, in expansion order),
    ``fixed`` RunSpec fields shared by every point, and the MeasureOptions fields of every run."""

    axes: tuple[tuple[str, tuple[Any, ...]], ...]
    fixed: Mapping[str, Any]
    options: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> SweepGrid:
        """Build a grid from named settings: flag names (``batch-sizes``, ``duration``) or field
        names. A list makes an axis (for ``buckets`` a list is the value; a list of lists an axis);
        a single value applies to every point."""
        given: dict[str, tuple[str, Any]] = {}
        for name, value in settings.items():
            key = canonical_name(str(name))
            if key in given:
                raise InvalidInputError(
                    f"sweep setting '{name}' and '{given[key][0]}' name the same thing; give one"
                )
            given[key] = (str(name), value)
        options: dict[str, Any] = {}
        axes: dict[str, tuple[Any, ...]] = {}
        fixed: dict[str, Any] = {}
        for key, (name, value) in given.items():
            if key in _OPTION_FIELDS:
                options[key] = _coerce(name, _option_kind(key), value)
                continue
            kind = _KINDS[key]
            is_axis = isinstance(value, list | tuple) and (
                not kind.startswith("ints") or any(isinstance(v, list | tuple) for v in value)
            )
            if not is_axis:
                fixed[key] = _coerce(name, kind, value)
                continue
            if not value:
                raise InvalidInputError(f"{name}: empty list; give at least one value")
            values = _unique(_coerce(name, kind, item) for item in value)
            if len(values) == 1:
                fixed[key] = values[0]
            else:
                axes[key] = values
        _check_workload(axes, fixed)
        try:
            MeasureOptions(**options)
        except TypeError as exc:  # pragma: no cover - names are checked above
            raise InvalidInputError(f"sweep options: {exc}") from None
        order = {name: i for i, name in enumerate(_AXIS_ORDER)}
        ordered = sorted(axes.items(), key=lambda item: order.get(item[0], -1))
        return cls(tuple(ordered), fixed, options)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SweepGrid:
        """A grid as ``to_dict`` wrote it (``sweep.json``)."""
        if not isinstance(data, Mapping):
            raise InvalidInputError("sweep.json: 'grid' is not a table of settings")
        axes, fixed, options = (data.get(k) or {} for k in ("axes", "fixed", "options"))
        if not all(isinstance(part, Mapping) for part in (axes, fixed, options)):
            raise InvalidInputError("sweep.json: 'grid' has no axes/fixed/options tables")
        return cls.from_settings(_settings(axes.items(), fixed, options))

    def to_settings(self) -> dict[str, Any]:
        """The grid as named settings again (``from_settings`` of them gives the same grid)."""
        return _settings(self.axes, self.fixed, self.options)

    @property
    def size(self) -> int:
        return math.prod(len(values) for _, values in self.axes)

    def combinations(self) -> list[dict[str, Any]]:
        names = [name for name, _ in self.axes]
        return [dict(zip(names, combo, strict=True)) for combo in _product(self.axes)]

    def measure_options(self) -> MeasureOptions:
        return MeasureOptions(**self.options)

    def describe(self) -> str:
        """``2 models × 3 batch sizes = 6 points``-style summary."""
        if not self.axes:
            return "1 point"
        parts = [f"{len(values)} {_AXIS_WORDS.get(name, name)}" for name, values in self.axes]
        return " × ".join(parts) + f" = {self.size} points"

    def to_dict(self) -> dict[str, Any]:
        return {
            "axes": {name: [jsonable(v) for v in values] for name, values in self.axes},
            "fixed": {name: jsonable(v) for name, v in self.fixed.items()},
            "options": dict(self.options),
        }


def _settings(
    axes: Iterable[tuple[str, Iterable[Any]]], fixed: Mapping[str, Any], options: Mapping[str, Any]
) -> dict[str, Any]:
    settings: dict[str, Any] = {**fixed, **options}
    for name, values in axes:
        settings[name] = [jsonable(v) for v in values]
    return settings


def _product(axes: Sequence[tuple[str, tuple[Any, ...]]]) -> Iterable[tuple[Any, ...]]:
    return itertools.product(*(values for _, values in axes))


def _unique(values: Iterable[Any]) -> tuple[Any, ...]:
    seen: list[Any] = []
    for value in values:
        if value not in seen:
            seen.append(value)
    return tuple(seen)


def jsonable(value: Any) -> Any:
    """A setting's value as JSON writes it (a tuple as a list)."""
    return list(value) if isinstance(value, tuple) else value


def _check_workload(axes: Mapping[str, Any], fixed: dict[str, Any]) -> None:
    given = [f for f in WORKLOAD_FIELDS if f in axes or fixed.get(f) is not None]
    if len(given) > 1:
        names = ", ".join(g.replace("_", "-") for g in given)
        raise InvalidInputError(f"give one workload for a sweep, not {names}")
    if given and given[0] != "seq_len":
        fixed.setdefault("seq_len", None)
