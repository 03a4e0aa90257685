"""A local Hugging Face model directory picked in the Setup form runs as ``plmprof run -m DIR``
does: a bad directory gets the CLI's one-line error under the form, a good one runs."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from textual.widgets import Input, Label, Select
from tui_fakes import make_app, screen_text, settle, start_a_short_real_run, wait_for

from engines.errors import InvalidInputError
from engines.spec import RunSpec
from tests.engines.test_local_model import save_esm
from tui.app import PlmprofApp, create_app
from tui.cli import app as cli_app
from tui.options import spec_from_flags
from tui.screens.setup import SetupPane
from tui.screens.setup_form import LOCAL_MODEL

RUN = typer.main.get_command(cli_app).commands["run"]  # type: ignore[attr-defined]


def cli_error(model: str) -> str:
    """What ``plmprof run -m MODEL`` says (before anything runs)."""
    with pytest.raises(InvalidInputError) as refused:
        spec_from_flags("run", RUN.make_context("run", ["-m", model]).params)
    return str(refused.value)


def validation(app: PlmprofApp) -> str:
    return str(app.query_one("#validation", Label).content)


async def pick_directory(app: PlmprofApp, folder: str) -> None:
    app.query_one("#model", Select).value = LOCAL_MODEL
    app.query_one("#model-dir", Input).value = folder


@pytest.mark.parametrize("kind", ["missing", "no config"])
async def test_a_bad_directory_gets_the_cli_error_under_the_form(tmp_path: Path, kind: str) -> None:
    folder = tmp_path / "model"
    if kind == "no config":
        folder.mkdir()
    app, sessions = make_app(tmp_path)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        assert not app.query_one("#model-dir", Input).display  # shown for a local directory only
        await pick_directory(app, str(folder))
        await settle(pilot)
        assert app.query_one("#model-dir", Input).display
        await wait_for(pilot, lambda: "✗" in validation(app))
        assert validation(app) == "✗ " + cli_error(str(folder))
        await pilot.press("r")
        await pilot.pause(0.2)
        assert not sessions.made


async def test_a_loaded_local_model_spec_shows_its_directory(tmp_path: Path) -> None:
    folder = save_esm(tmp_path / "my-esm")
    wanted = RunSpec(model=str(folder), weights=str(folder))
    app, _ = make_app(tmp_path)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        pane = app.query_one(SetupPane)
        assert pane.load(wanted) == []
        await settle(pilot)
        assert app.query_one("#model", Select).value == LOCAL_MODEL
        assert app.query_one("#model-dir", Input).display
        assert pane.spec() == wanted
        shown = app.query_one("#model-info", Label)
        facts = "69,193 parameters · up to 128 residues"
        await wait_for(pilot, lambda: facts in str(shown.content))
        assert validation(app).startswith("✓")


@pytest.mark.e2e
async def test_a_saved_model_directory_runs_from_the_form(tmp_path: Path) -> None:
    folder = save_esm(tmp_path / "my-esm")
    app = create_app(results_dir=tmp_path / "results", devices=["cpu"], default_device="cpu")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pick_directory(app, str(folder))
        runs = await start_a_short_real_run(pilot)
        info = str(app.query_one("#model-info", Label).content)
        assert str(folder) in info and "local directory; esm read from its config.json" in info
        assert "up to 128 residues" in info  # 130 positions less <cls> and <eos>
        await wait_for(pilot, lambda: bool(runs.results), timeout=240)
        result = runs.results[0]
        assert result.status == "ok", result.message
        assert result.spec["model"] == str(folder) and result.spec["weights"] == "random"
        assert result.latency is not None and result.latency["count"] >= 3
        await pilot.pause(0.3)
        assert "finished" in screen_text(app)
