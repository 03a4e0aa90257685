"""``plmprof models`` and ``plmprof devices``: both answer from data, without loading torch."""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from engines.catalog import MODELS, Family, ModelInfo
from tui.widgets.units import NA


def print_models(console: Console) -> None:
    """The catalog. Ids and counts never wrap or shrink (80 columns included); the hub id and
    notes share the last column, which folds to whatever width is left."""
    table = Table(
        title="plmprof model catalog (random weights unless --weights is given)",
        caption="parameters: the encoder as built (no LM head; pooler only for ProtBERT; ESM "
        "contact head included), checked in tests. published: the authors' rounded figure, "
        "incl. parts not built here; tests hold what runs against it (docs/measurement.md)",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    infos = list(MODELS.values())
    # Fixed widths: rich would otherwise share out spare width unevenly and squeeze these.
    table.add_column("id", no_wrap=True, width=max(len(info.id) for info in infos))
    table.add_column("parameters", justify="right", no_wrap=True, width=14)
    table.add_column("max res.", justify="right", no_wrap=True, width=8)
    table.add_column("family", no_wrap=True, width=max(len(f.value) for f in Family))
    # Capped so that a long unbreakable hub id folds instead of widening every column.
    table.add_column("hub id · notes", overflow="fold", max_width=max(16, console.width - 60))
    for info in infos:
        table.add_row(
            info.id,
            f"{info.expected_params:,}",
            str(info.max_residues or NA),
            f"{info.family.value}\n[dim]{info.tokenizer} tok.[/]",
            "\n".join(
                (
                    info.hub_id,
                    *(f"[dim]{escape(note)}[/]" for note in (*info.notes, *_published(info))),
                )
            ),
        )
    console.print(table)


def _published(info: ModelInfo) -> tuple[str, ...]:
    published = info.published
    if published is None:
        return ()
    parts = ", ".join(name for name, _ in published.not_built)
    text = f"published {published.label}" + (f" incl. {parts}" if parts else "")
    return (text + (" (UNVERIFIED)" if published.unverified else ""),)


def print_devices(console: Console) -> None:
    from tui.commands.device_report import device_report

    for title, rows in device_report():
        table = Table(title=title, show_header=False)
        table.add_column(style="bold", no_wrap=True)
        table.add_column()
        for key, value in rows:
            table.add_row(escape(key), escape(value))
        console.print(table)
