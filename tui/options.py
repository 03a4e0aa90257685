"""Command-line options built from RunSpec's field metadata (``engines.fields``): one declaration
per field serves ``run``, ``compile`` and ``sweep``, and the conversion of their flags back to a
RunSpec. Options that are not RunSpec fields (how a run is measured and priced) are declared here
once each."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any

import typer

from engines.fasta import check_fasta_path
from engines.fields import TEXT_KINDS, WORKLOAD_FIELDS, Command, FieldInfo, parse_text
from engines.spec import SPEC_FIELDS, RunSpec, workload_fields

# Whole numbers and numbers are taken as text and read by ``parse_text``, as the Setup form
# reads its boxes: one reader for both; their help still names the kind.
_METAVARS = {"int": "<int>", "float": "<float>"}
# Sweep flags whose comma-separated values make an axis of the grid.
AXIS_FLAGS = tuple(info.axis for info in SPEC_FIELDS if info.axis)


def flag_ident(info: FieldInfo, command: Command) -> str:
    """The parameter (and flag, with dashes) a command takes this field under."""
    if command == "sweep" and info.axis:
        return info.axis
    return info.flag.replace("-", "_")


def _decls(info: FieldInfo, command: Command) -> list[str]:
    if info.kind == "bool":
        return [f"--{info.flag}/--no-{info.flag}"]
    decls = [f"--{flag_ident(info, command).replace('_', '-')}"]
    if command == "sweep" and info.axis and info.axis != info.flag:
        decls.append(f"--{info.flag}")
    if info.short:
        decls.append(f"-{info.short}")
    return decls


def spec_parameter(info: FieldInfo, command: Command) -> inspect.Parameter:
    """One RunSpec field as a typer option of ``command``. In ``sweep`` every option defaults to
    None (not given) and an axis field takes a comma-separated list."""
    axis = command == "sweep" and info.axis is not None
    base = bool if info.kind == "bool" and not axis else str
    none_default = command == "sweep" or info.kind in TEXT_KINDS or info.optional
    help_text = info.help + (" Comma list: an axis." if axis else "")
    metavar = None if axis else _METAVARS.get(info.kind)
    option = typer.Option(*_decls(info, command), help=help_text, metavar=metavar)
    kind: Any = base | None if none_default else base
    default = info.default if base is bool else str(info.default)
    return inspect.Parameter(
        flag_ident(info, command),
        inspect.Parameter.KEYWORD_ONLY,
        annotation=Annotated[kind, option],
        default=None if none_default else default,
    )


def spec_parameters(command: Command) -> list[inspect.Parameter]:
    return [spec_parameter(i, command) for i in SPEC_FIELDS if command in i.commands]


def spec_from_flags(command: Command, flags: Mapping[str, Any], **fixed: Any) -> RunSpec:
    """The RunSpec of ``command``'s flags (by parameter name), plus ``fixed`` fields; list and
    size fields are read from their text, and exactly one workload is set."""
    fields: dict[str, Any] = dict(fixed)
    for info in SPEC_FIELDS:
        if command not in info.commands:
            continue
        value = flags[flag_ident(info, command)]
        if info.kind in TEXT_KINDS:
            value = parse_text(info.kind, value) if value else (None if info.optional else ())
        elif info.kind != "bool" and value is not None:
            value = parse_text(info.kind, value, f"--{info.flag}")
        fields[info.name] = value
    workload = workload_fields({name: fields.pop(name, None) for name in WORKLOAD_FIELDS})
    if workload["fasta"] is not None:
        check_fasta_path(Path(workload["fasta"]))
    return RunSpec(**fields, **workload)


def with_parameters(
    body: Callable[..., None], parameters: list[inspect.Parameter]
) -> Callable[..., None]:
    """``body`` (taking keyword arguments) with a signature of ``parameters``, for typer."""

    def command(**flags: Any) -> None:
        body(**flags)

    command.__doc__ = body.__doc__
    command.__name__ = body.__name__
    command.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in parameters}
    return command


def parameter(name: str, annotation: Any, default: Any) -> inspect.Parameter:
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default
    )


# Typer option declarations shared by commands (one definition each).
PricePerHour = Annotated[float | None, typer.Option(help="USD per hour, for cost.")]
InstanceType = Annotated[
    str | None, typer.Option(help="Price this instance type (e.g. inf2.xlarge).")
]
PriceKind = Annotated[
    str | None,
    typer.Option(help="on-demand (default) or RI-effective (reserved-instance rate, inf2/trn1)."),
]
PeakTflops = Annotated[float | None, typer.Option(help="Peak TFLOP/s for MFU.")]
TelemetryInterval = Annotated[float, typer.Option(help="Seconds between samples.")]
ResultsDir = Annotated[Path, typer.Option(help="Every run's JSON Result is also saved here.")]
Force = Annotated[
    bool, typer.Option("--force", help="Overwrite files that exist (never a symbolic link).")
]
Output = Annotated[
    str | None, typer.Option("--output", "-o", help="File to write, or - for stdout.")
]


def measure_parameters(*, sweep: bool = False) -> list[inspect.Parameter]:
    """``--telemetry-interval``, ``--price-per-hour``, ``--instance-type``, ``--price-kind``,
    ``--peak-tflops``."""
    interval = TelemetryInterval if not sweep else Annotated[float | None, typer.Option()]
    return [
        parameter("telemetry_interval", interval, None if sweep else 0.5),
        parameter("price_per_hour", PricePerHour, None),
        parameter("instance_type", InstanceType, None),
        parameter("price_kind", PriceKind, None),
        parameter("peak_tflops", PeakTflops, None),
    ]
