"""Every setting ``plmprof run`` takes is reachable from the Setup form, from the same field
descriptions as the CLI's options, and what is set in the form reaches the run."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from textual.widgets import Checkbox, Collapsible, Input
from tui_fakes import make_app, run_once, screen_text, settle

from engines.errors import InvalidInputError
from engines.spec import SPEC_FIELDS, RunSpec
from tui.app import PlmprofApp
from tui.options import measure_parameters
from tui.screens.setup import SetupPane
from tui.screens.setup_fields import (
    GROUP_TITLES,
    MAIN_WIDGETS,
    folded_fields,
    measure_field_names,
    widget_id,
)

SIZE = (120, 60)
RUN_FIELDS = [i for i in SPEC_FIELDS if "run" in i.commands]


def _set(app: PlmprofApp, name: str, value: str | bool) -> None:
    widget = app.query_one(f"#{widget_id(name)}")
    assert isinstance(widget, Checkbox | Input)
    widget.value = value  # type: ignore[assignment]


def test_the_main_form_and_the_folded_sections_share_out_every_run_option() -> None:
    main = {i.name for i in RUN_FIELDS if i.group == "main"}
    assert set(MAIN_WIDGETS) == main
    assert {i.name for i in folded_fields()} == {i.name for i in RUN_FIELDS} - main
    assert {i.group for i in folded_fields()} <= set(GROUP_TITLES)
    assert len(measure_field_names()) == len(measure_parameters())


async def test_every_run_option_has_a_widget_in_the_form(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for info in RUN_FIELDS:
            ident = MAIN_WIDGETS.get(info.name, widget_id(info.name))
            assert app.query(f"#{ident}"), f"--{info.flag} has no widget in the Setup form"
        for name in measure_field_names():
            assert app.query(f"#{widget_id(name)}"), f"{name} has no widget"
        # Folded at first: the sections' titles are shown, their settings are not.
        assert all(c.collapsed for c in app.query(Collapsible))
        assert "price per hour" not in screen_text(app)


async def test_values_set_in_the_folded_sections_reach_the_run(tmp_path: Path) -> None:
    app, sessions = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for collapsible in app.query(Collapsible):
            collapsible.collapsed = False
        await pilot.pause()
        assert "price per hour" in screen_text(app)
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


async def test_a_loaded_spec_fills_the_folded_sections_and_comes_back(tmp_path: Path) -> None:
    wanted = RunSpec(
        threads=2, buckets=(64, 128), quality=True, max_iters=40, memory_limit_mb=1500, epochs=2.5
    )
    app, _ = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        pane = app.query_one(SetupPane)
        assert pane.load(wanted) == []
        assert app.query_one(f"#{widget_id('memory_limit_mb')}", Input).value == "1500MB"
        assert pane.spec() == wanted


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("threads", "many", "threads must be a whole number (got 'many')"),
        ("buckets", "128,x", "128,x"),
        ("memory_limit_mb", "lots", "cannot read memory size 'lots'"),
        ("price_per_hour", "cheap", "price per hour must be a number (got 'cheap')"),
    ],
)
async def test_a_bad_value_in_a_folded_section_is_named(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    app, _ = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        pane = app.query_one(SetupPane)
        _set(app, name, text)
        with pytest.raises(InvalidInputError, match=re.escape(message)):
            pane.options() if name == "price_per_hour" else pane.spec()
