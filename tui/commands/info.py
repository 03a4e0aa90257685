"""``plmprof models`` and ``plmprof devices``."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from engines.builders import count_parameters
from engines.catalog import MODELS


def print_models(console: Console) -> None:
    table = Table(title="plmprof model catalog (random weights unless --weights is given)")
    for column in ("id", "family", "parameters", "max residues", "tokenizer", "hub id", "notes"):
        table.add_column(column, justify="right" if column == "parameters" else "left")
    for info in MODELS.values():
        counted = count_parameters(info)
        mismatch = abs(counted - info.expected_params) / info.expected_params > 0.001
        params = f"{counted:,}" + (" (!)" if mismatch else "")
        table.add_row(
            info.id,
            info.family.value,
            params,
            str(info.max_residues or "–"),
            info.tokenizer,
            info.hub_id,
            "; ".join(info.notes),
        )
    console.print(table)


def print_devices(console: Console) -> None:
    from tui.commands.device_report import device_report

    for title, rows in device_report():
        table = Table(title=title, show_header=False)
        table.add_column(style="bold")
        table.add_column()
        for key, value in rows:
            table.add_row(key, value)
        console.print(table)
