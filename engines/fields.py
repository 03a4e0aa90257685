"""What each RunSpec field is, for the people who set it: its help text, kind, flag names and
which commands offer it. The one source from which ``plmprof run``, ``compile`` and ``sweep``
build their options, the sweep reads a setting's kind, and the Setup form lists its fields.

A RunSpec field declares its metadata with ``setting(default, help, ...)`` (see engines.spec);
``field_infos()`` lists them in declaration order.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from engines.batching import parse_buckets
from engines.errors import InvalidInputError

# "ints": a comma-separated list of whole numbers (a tuple); "devices": of device names;
# "names": of other names (modules); "size": a memory size such as 4GB (a number is megabytes).
Kind = Literal["int", "float", "bool", "str", "size", "ints", "devices", "names"]
# Kinds given as text and read with ``parse_text``.
TEXT_KINDS = ("size", "ints", "devices", "names")
Command = Literal["run", "compile", "sweep"]
ALL_COMMANDS: tuple[Command, ...] = ("run", "compile", "sweep")
_KEY = "plmprof"

# The workload sources: exactly one is set (``one_workload``).
WORKLOAD_FIELDS = ("seq_len", "lengths", "fasta")


@dataclass(frozen=True)
class FieldInfo:
    """``flag``: the option's name without dashes (default: the field's name with dashes);
    ``short``: a one-letter option; ``axis``: the plural a sweep takes a comma list under (and a
    grid may use); ``aliases``: other names a grid may use; ``optional``: None is a value;
    ``commands``: the commands offering it as an option; ``group``: the heading it is listed
    under in the Setup form (the main form or a folded section: workload, measurement,
    training, neuron, gaudi); ``choices``: the values it takes, when they are a fixed few (the
    form offers them as a list; RunSpec refuses any other)."""

    name: str
    help: str
    kind: Kind
    default: Any
    optional: bool
    flag: str
    short: str | None
    axis: str | None
    aliases: tuple[str, ...]
    commands: tuple[Command, ...]
    group: str
    choices: tuple[str, ...]

    @property
    def names(self) -> tuple[str, ...]:
        """Every name a setting may use for this field (``_`` for ``-``)."""
        found = [self.name, self.flag.replace("-", "_"), *(a for a in (self.axis,) if a)]
        found += self.aliases
        return tuple(dict.fromkeys(found))


def setting(
    default: Any,
    help: str = "",
    *,
    kind: Kind,
    optional: bool = False,
    flag: str | None = None,
    short: str | None = None,
    axis: str | None = None,
    aliases: tuple[str, ...] = (),
    commands: tuple[Command, ...] = ALL_COMMANDS,
    group: str = "main",
    choices: tuple[str, ...] = (),
) -> Any:
    """A RunSpec field with its metadata (``dataclasses.field`` with a default)."""
    meta = {
        "help": help,
        "kind": kind,
        "optional": optional or default is None,
        "flag": flag,
        "short": short,
        "axis": axis,
        "aliases": aliases,
        "commands": commands,
        "group": group,
        "choices": choices,
    }
    return dataclasses.field(default=default, metadata={_KEY: meta})


def field_infos(cls: type) -> tuple[FieldInfo, ...]:
    """The metadata of every field of ``cls`` (a dataclass built with ``setting``)."""
    infos = []
    for spec_field in dataclasses.fields(cls):
        meta = spec_field.metadata.get(_KEY)
        if meta is None:
            continue
        infos.append(
            FieldInfo(
                name=spec_field.name,
                default=spec_field.default,
                flag=meta["flag"] or spec_field.name.replace("_", "-"),
                **{k: v for k, v in meta.items() if k != "flag"},
            )
        )
    return tuple(infos)


def one_workload(given: Mapping[str, Any], default_seq_len: int) -> dict[str, Any]:
    """The workload fields of a run: the one source ``given`` names (``seq_len``, ``lengths``
    or ``fasta``, None where not given), or ``default_seq_len`` residues when none is."""
    chosen = {k: given[k] for k in WORKLOAD_FIELDS if given.get(k) is not None}
    if len(chosen) > 1:
        raise InvalidInputError("give one workload: --seq-len, --lengths or --fasta")
    if not chosen:
        chosen = {"seq_len": default_seq_len}
    return {**dict.fromkeys(WORKLOAD_FIELDS), **chosen}


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)?\s*$", re.IGNORECASE)
_UNIT_MB = {
    "": 1,
    "m": 1,
    "mb": 1,
    "mib": 1.048576,
    "g": 1000,
    "gb": 1000,
    "gib": 1073.741824,
    "t": 1_000_000,
    "tb": 1_000_000,
    "k": 0.001,
    "kb": 0.001,
}


def parse_size_mb(text: str) -> int:
    """``"4GB"``, ``"512MB"``, ``"2G"`` or a plain number of MB, as whole megabytes."""
    match = _SIZE.match(text)
    unit = (match.group(2) or "").lower() if match else None
    if match is None or unit not in _UNIT_MB:
        raise InvalidInputError(f"cannot read memory size '{text}'; write e.g. 4GB or 512MB")
    megabytes = float(match.group(1)) * _UNIT_MB[unit]
    if megabytes <= 0:
        raise InvalidInputError(f"memory size '{text}' must be more than 0")
    return max(1, round(megabytes))


def parse_devices(text: str) -> tuple[str, ...]:
    return tuple(d.strip() for d in text.split(",") if d.strip())


def parse_text(kind: Kind, text: str, label: str = "value") -> Any:
    """A setting given as text (a flag, a grid value, a box of the Setup form) as the field's
    value: whole numbers and numbers as ``int()``/``float()`` read them (as the CLI's options
    do), lists and sizes as above; ``label`` names the setting in the error."""
    if kind == "size":
        return parse_size_mb(text)
    if kind == "ints":
        return parse_buckets(text)
    if kind in ("devices", "names"):
        return parse_devices(text)
    if kind in ("int", "float"):
        try:
            number = int(text) if kind == "int" else float(text)
        except ValueError:
            what = "a whole number" if kind == "int" else "a number"
            raise InvalidInputError(f"{label} must be {what} (got '{text}')") from None
        if not math.isfinite(number):
            raise InvalidInputError(f"{label} must be a finite number (got '{text}')")
        return number
    if kind == "str":
        return text
    raise ValueError(f"{kind} settings are switched on or off, not read from text")
