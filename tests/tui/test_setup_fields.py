"""Every setting the CLI takes is reachable from the Setup form, which is built from the same
field descriptions as the CLI's options, reads the same text the same way, and what is set in
the form reaches the run."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest
import typer
from textual.widgets import Checkbox, Collapsible, Input, Select
from tui_fakes import make_app, run_once, screen_text, settle

from engines.catalog import MODELS
from engines.errors import InvalidInputError
from engines.fields import FieldInfo
from engines.spec import FIELDS_BY_NAME, SPEC_FIELDS, RunSpec
from profilers.options import MeasureOptions
from tui.app import PlmprofApp
from tui.cli import app as cli_app
from tui.options import measure_parameters, spec_from_flags
from tui.screens.setup import SetupPane
from tui.screens.setup_fields import GROUP_TITLES, FieldRow, MeasureRow, widget_id
from tui.screens.setup_form import (
    COMPOUND_ROWS,
    LOCAL_MODEL,
    form_rows,
    form_sections,
    form_values,
    options_from_form,
    spec_from_form,
)

SIZE = (120, 60)
# Every field the CLI takes (any command): each must have a row in the form.
CLI_FIELDS = [i for i in SPEC_FIELDS if i.commands]
RUN = typer.main.get_command(cli_app).commands["run"]  # type: ignore[attr-defined]


def _set(app: PlmprofApp, name: str, value: str | bool) -> None:
    widget = app.query_one(f"#{widget_id(name)}")
    assert isinstance(widget, Checkbox | Input)
    widget.value = value  # type: ignore[assignment]


def test_one_loop_over_the_fields_gives_every_cli_field_one_row() -> None:
    held = [name for row in form_rows() for name in row.fields]
    assert sorted(held) == sorted(i.name for i in CLI_FIELDS)  # each once, none missing
    assert [i.name for i in CLI_FIELDS if "run" not in i.commands] == []  # run takes them all
    for info in CLI_FIELDS:
        row = next(r for r in form_rows() if info.name in r.fields)
        assert row is COMPOUND_ROWS.get(info.name) or row == FieldRow.of(info)
        group = next(g for g, rows in form_sections() if row in rows)
        assert group == info.group, f"{info.name} drawn under {group}, described as {info.group}"
    assert [g for g, _ in form_sections()] == ["main", *GROUP_TITLES]
    measured = [r for r in form_rows() if isinstance(r, MeasureRow)]
    assert len(measured) == len(measure_parameters())


async def test_every_cli_field_has_its_widget_in_the_form(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for row in form_rows():
            for ident in row.ids:
                assert app.query(f"#{ident}"), f"{row.label} ({row.fields}) has no widget"
        for info in CLI_FIELDS:
            if info.choices:  # a list to pick from: exactly the values RunSpec takes
                select = app.query_one(f"#{widget_id(info.name)}", Select)
                assert tuple(v for _, v in select._options) == info.choices
        # The main fields first, the advanced ones folded: their sections' titles are shown.
        assert all(c.collapsed for c in app.query(Collapsible))
        shown = screen_text(app)
        assert "price per hour" not in shown and "measurement: autocast" in shown
        assert "model dir" not in shown  # until "local directory…" is picked


def _form_entry(info: FieldInfo, text: str) -> dict[str, str | bool]:
    """What a user enters in the form for ``info`` given ``text`` on the command line."""
    if info.name == "model":
        return {"model": text} if text in MODELS else {"model": LOCAL_MODEL, "model-dir": text}
    if info.name in ("prune_layers", "prune_heads"):
        # One word of the pruning box (its words are separated by spaces).
        return {"prune": f"{info.name.removeprefix('prune_')}:{text.strip()}"}
    if info.name in ("batch_size", "token_budget"):
        return {"batching": "batch" if info.name == "batch_size" else "budget", "batch-value": text}
    if info.name in ("seq_len", "lengths", "fasta"):
        return {"workload": info.name, "workload-value": text}
    return {
        COMPOUND_ROWS[info.name].ids[0]
        if info.name in COMPOUND_ROWS
        else widget_id(info.name): text
    }


TEXTS = {
    "int": ["3", " 7 ", "0", "-2", "2.5", "x", "1_000", "1e3"],
    "float": ["1.5", "3", "1e-4", "-1", "x", "inf", "nan", "0"],
    "size": ["2GB", "512", "1.5GiB", "lots", "0"],
    "ints": ["128,256", "256,64", "128,x", "0"],
    "devices": ["cpu,cpu", "cuda:0", "gpu0"],
    "names": ["query,value", "dense"],
}
STRS = {
    "model": ["esm2_t6_8M", "prot_bert", "./no/such/dir", "esm2_typo"],
    "device": ["cpu", "cuda:1", "tpu"],
    "prune": ["none", "2:4", "unstructured:0.5", "unstructured:2", "3:4"],
    "weights": ["random", "cache", "/no/such/weights"],
    "lengths": ["uniform:50-100", "fixed:64", "normal:5"],
    "fasta": ["/no/such/file.fasta"],
    "labels": ["/no/such/labels.csv"],
}


def _cases() -> list[tuple[str, str]]:
    cases = []
    for info in CLI_FIELDS:
        if info.kind == "bool":
            continue
        texts = list(info.choices) if info.choices else STRS.get(info.name, TEXTS.get(info.kind))
        assert texts, f"no texts to try for --{info.flag} ({info.kind})"
        cases += [(info.name, text) for text in texts]
    return cases


def _outcome(make: Any) -> Any:
    """The value made, or "refused" when the input is refused (one line, as plmprof says)."""
    try:
        return repr(make())  # a repr: nan equals nan
    except (InvalidInputError, typer.BadParameter):
        return "refused"


@pytest.mark.parametrize(("name", "text"), _cases())
def test_the_form_reads_each_text_as_the_cli_does(name: str, text: str) -> None:
    info = FIELDS_BY_NAME[name]

    def cli() -> RunSpec:
        flags = RUN.make_context("run", [f"--{info.flag}", text]).params
        return spec_from_flags("run", flags)

    def form() -> RunSpec:
        values = {**form_values(RunSpec(), MeasureOptions()), **_form_entry(info, text)}
        return spec_from_form(RunSpec(), values)

    assert _outcome(form) == _outcome(cli)


@pytest.mark.parametrize("info", [i for i in CLI_FIELDS if i.kind == "bool"], ids=str)
def test_a_checked_box_is_the_cli_switch(info: FieldInfo) -> None:
    values = form_values(RunSpec(), MeasureOptions())
    if info.name == "packing":
        checked = {**values, "batching": "packed", "batch-value": "512"}
        args = ["--packing", "--token-budget", "512"]
    else:
        checked, args = {**values, widget_id(info.name): True}, [f"--{info.flag}"]
    cli = spec_from_flags("run", RUN.make_context("run", args).params)
    assert spec_from_form(RunSpec(), checked) == cli and getattr(cli, info.name) is True


@pytest.mark.parametrize("text", ["1.5", "x", "1e2", "-3"])
def test_the_price_boxes_read_as_the_cli_options_do(text: str) -> None:
    def cli() -> MeasureOptions:
        price = RUN.make_context("run", ["--price-per-hour", text]).params["price_per_hour"]
        return dataclasses.replace(MeasureOptions(), price_per_hour=price)

    def form() -> MeasureOptions:
        values = {**form_values(RunSpec(), MeasureOptions()), widget_id("price_per_hour"): text}
        return options_from_form(MeasureOptions(), values)

    assert _outcome(form) == _outcome(cli)


async def test_values_set_in_the_folded_sections_reach_the_run(tmp_path: Path) -> None:
    app, sessions = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for collapsible in app.query(Collapsible):
            collapsible.collapsed = False
        await pilot.pause()
        assert "price per hour" in screen_text(app)
        assert "▐ ▌ Keep fp32 weights" in screen_text(app)  # off, readable without colour
        for name, value in {
            "autocast": True,
            "quality": True,
            "threads": "3",
            "buckets": "128,256",
            "memory_limit_mb": "2GB",
            "seed": "7",
            "lora_targets": "query,value",
            "price_per_hour": "1.5",
            "instance_type": "inf2.xlarge",
        }.items():
            _set(app, name, value)
        await settle(pilot)
        assert "▐X▌ Keep fp32 weights" in screen_text(app)
        await run_once(pilot, 1)
        spec = sessions.made[0].spec
        assert (spec.autocast, spec.quality, spec.threads, spec.buckets) == (
            True,
            True,
            3,
            (128, 256),
        )
        assert (spec.memory_limit_mb, spec.seed, spec.lora_targets) == (2000, 7, ("query", "value"))
        assert (app.options.price_per_hour, app.options.instance_type) == (1.5, "inf2.xlarge")


@pytest.mark.parametrize(
    "wanted",
    [
        RunSpec(
            threads=2,
            buckets=(64, 128),
            quality=True,
            max_iters=40,
            memory_limit_mb=1500,
            epochs=2.5,
        ),
        RunSpec(
            model="prot_bert",
            dtype="bf16",
            prune="2:4",
            prune_layers=1,
            token_budget=4096,
            packing=True,
            attention="varlen",
            lengths="uniform:50-100",
            seq_len=None,
            neuron_target="trn1",
            hpu_mode="eager",
        ),
        RunSpec(
            mode="training", task="classify", finetune="lora", lr=3e-4, seq_len=64, optimizer="sgd"
        ),
    ],
)
async def test_a_loaded_spec_fills_the_form_and_comes_back(tmp_path: Path, wanted: RunSpec) -> None:
    app, _ = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        pane = app.query_one(SetupPane)
        assert pane.load(wanted) == []
        if wanted.memory_limit_mb:
            assert app.query_one(f"#{widget_id('memory_limit_mb')}", Input).value == "1500MB"
        assert pane.spec() == wanted
        assert spec_from_form(RunSpec(), form_values(wanted, MeasureOptions())) == wanted


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("threads", "many", "threads must be a whole number (got 'many')"),
        ("buckets", "128,x", "128,x"),
        ("memory_limit_mb", "lots", "cannot read memory size 'lots'"),
        ("duration_s", "soon", "duration must be a number (got 'soon')"),
        ("warmup", "", "warmup: give a value"),
        ("price_per_hour", "cheap", "price per hour must be a number (got 'cheap')"),
    ],
)
async def test_a_bad_value_is_named(tmp_path: Path, name: str, text: str, message: str) -> None:
    app, _ = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        pane = app.query_one(SetupPane)
        _set(app, name, text)
        with pytest.raises(InvalidInputError, match=re.escape(message)):
            pane.options() if name == "price_per_hour" else pane.spec()
