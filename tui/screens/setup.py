"""The setup form: every setting ``plmprof run`` takes, as rows generated from the settings'
descriptions (``tui.screens.setup_form``): the main ones first, the advanced ones in folded
sections below the Run button.

Every change is checked in a thread, the way a run would be: the form's values become a
``RunSpec`` (validated on construction) and go through ``check_runnable``. What cannot run is
explained under the form and the Run button is disabled, so no combination is discovered by a
crash.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import suppress
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Button, Checkbox, Collapsible, Input, Label, Select
from textual.widgets.select import InvalidSelectValueError

from engines.catalog import MODELS, ModelInfo, get_model_info
from engines.errors import PlmprofError
from engines.spec import RunSpec
from profilers.options import MeasureOptions
from tui.screens.setup_fields import GROUP_TITLES, Context, Raw, widget_id
from tui.screens.setup_form import (
    LOCAL_HINT,
    LOCAL_MODEL,
    WORKLOAD_DEFAULTS,
    WORKLOAD_HINTS,
    describe_plan,
    form_rows,
    form_sections,
    form_values,
    options_from_form,
    spec_from_form,
)

Preflight = Callable[[RunSpec], Any]
ParamCounter = Callable[[ModelInfo], int]
Detector = Callable[[], tuple[list[str], str]]

VALIDATE_DELAY_S = 0.25


def pick_device(devices: Sequence[str], wanted: str | None) -> str:
    """``wanted`` when detected; ``cuda`` means the first ``cuda:N``; else the first device."""
    if wanted in devices:
        return str(wanted)
    if wanted:
        family = wanted.partition(":")[0]
        match = next((d for d in devices if d.partition(":")[0] == family), None)
        if match is not None:
            return match
    return devices[0]


class SetupPane(Vertical):
    """The form. ``spec()`` gives the RunSpec it holds; ``load(spec)`` fills it from one."""

    class Validated(Message):
        def __init__(self, generation: int, spec: RunSpec | None, ok: bool, text: str) -> None:
            super().__init__()
            self.generation, self.spec, self.ok, self.text = generation, spec, ok, text

    class Detected(Message):
        def __init__(self, devices: list[str], best: str) -> None:
            super().__init__()
            self.devices, self.best = devices, best

    class Counted(Message):
        def __init__(self, model: str, count: int | None) -> None:
            super().__init__()
            self.model, self.count = model, count

    def __init__(
        self,
        *,
        devices: Sequence[str] | None,
        default_device: str | None,
        preflight: Preflight,
        param_counter: ParamCounter,
        detector: Detector | None = None,
        base: RunSpec | None = None,
        options: MeasureOptions | None = None,
        id: str | None = None,
    ) -> None:
        """``devices=None``: start with the CPU and ask ``detector`` in a thread for the rest."""
        super().__init__(id=id)
        self.detector = detector if devices is None else None
        self.devices = list(devices) if devices else ["cpu"]
        self.default_device = pick_device(self.devices, default_device)
        self.preflight = preflight
        self.param_counter = param_counter
        self.base = (base or RunSpec()).replace(device=self.default_device)
        self.measure_base = options or MeasureOptions()
        self.counts: dict[str, int | None] = {}
        self.generation = 0
        self.checked: tuple[RunSpec | None, bool, str] = (None, False, "")
        self._timer: Timer | None = None
        self._workload_values = dict(WORKLOAD_DEFAULTS)

    # -- layout ----------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        values = form_values(self.base, self.measure_base)
        context = self._machine()
        with VerticalScroll(id="setup-scroll"):
            for group, rows in form_sections():
                if group == "main":
                    with Vertical(id="form"):
                        for row in rows:
                            yield from row.compose(values, context)
                    yield Label("", id="model-info")
                    yield Label(Text("checking…", style="dim"), id="validation")
                    yield Button("Run  (r)", id="run-button", variant="success", compact=True)
                    continue
                section = Collapsible(
                    title=GROUP_TITLES[group], collapsed=True, id=f"group-{group}"
                )
                with section, Vertical(classes="form-grid"):
                    for row in rows:
                        yield from row.compose(values, context)

    def on_mount(self) -> None:
        self.border_title = "set up a run"
        self._show_model_info()
        self.schedule_validation()
        if self.detector is not None:
            self._detect(self.detector)

    @work(thread=True, group="detect")
    def _detect(self, detector: Detector) -> None:
        try:
            devices, best = detector()
        except Exception:
            return
        self.post_message(self.Detected(devices, best))

    def on_setup_pane_detected(self, message: Detected) -> None:
        if not message.devices or message.devices == self.devices:
            return
        select: Select[str] = self.query_one("#device", Select)
        untouched = select.value == self.default_device
        self.devices = message.devices
        self.default_device = pick_device(self.devices, message.best)
        current = str(select.value)
        select.set_options([(d, d) for d in self.devices])
        select.value = self.default_device if untouched or current not in self.devices else current

    # -- reading and filling the form ------------------------------------------------------
    def _machine(self) -> Context:
        return Context(tuple(self.devices), self.default_device)

    def _select(self, ident: str) -> str:
        value = self.query_one(f"#{ident}", Select).value
        return "" if value is Select.NULL else str(value)

    def raw(self) -> dict[str, str | bool]:
        """Every widget's value, by id (what ``spec_from_form`` reads)."""
        found: dict[str, str | bool] = {}
        for row in form_rows():
            for ident in row.ids:
                widget = self.query_one(f"#{ident}")
                if isinstance(widget, Select):
                    found[ident] = self._select(ident)
                elif isinstance(widget, Checkbox | Input):
                    found[ident] = widget.value
        return found

    def spec(self) -> RunSpec:
        """The RunSpec the form holds; raises ``InvalidInputError`` when it holds none."""
        return spec_from_form(self.base, self.raw())

    def options(self) -> MeasureOptions:
        """How runs are measured and priced, with the price section's values."""
        return options_from_form(self.measure_base, self.raw())

    def load(self, spec: RunSpec) -> list[str]:
        """Fill the form from ``spec``; returns what could not be carried over."""
        self.base = spec
        context = self._machine()
        lost = [text for row in form_rows() if row.fields for text in row.lost(spec, context)]
        for row in form_rows():
            if not row.fields:
                continue  # the price section holds no RunSpec field
            for ident, value in row.show(spec, self.measure_base).items():
                widget = self.query_one(f"#{ident}")
                # A device not on this machine is not offered: ``lost`` says so.
                with suppress(InvalidSelectValueError):
                    widget.value = value  # type: ignore[attr-defined]
        kind = self._select("workload")
        self._workload_values[kind] = self.query_one("#workload-value", Input).value
        self.schedule_validation()
        return lost

    # -- reacting to edits -----------------------------------------------------------------
    @on(Select.Changed)
    @on(Input.Changed)
    @on(Checkbox.Changed)
    def _edited(self, event: Select.Changed | Input.Changed | Checkbox.Changed) -> None:
        ident = event.control.id
        if ident == "workload" and isinstance(event, Select.Changed):
            kind = str(event.value)
            field = self.query_one("#workload-value", Input)
            field.value = self._workload_values.get(kind, "")
            field.placeholder = WORKLOAD_HINTS.get(kind, "")
        elif ident == "workload-value":
            self._workload_values[self._select("workload")] = str(event.value)
        elif ident == "model":
            self.query(".local-model").set(display=event.value == LOCAL_MODEL)
            self._show_model_info()
        elif ident == widget_id("mode") and event.value == "training":
            self.query_one("#group-training", Collapsible).collapsed = False
        self.schedule_validation()

    @on(Button.Pressed, "#run-button")
    async def _run_pressed(self) -> None:
        await self.app.run_action("start_run")

    def schedule_validation(self) -> None:
        self.generation += 1
        self.query_one("#validation", Label).update(Text("checking…", style="dim"))
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(VALIDATE_DELAY_S, self._validate_now)

    def _validate_now(self) -> None:
        self._check(self.generation, self.base, self.raw())

    @work(thread=True, exclusive=True, group="validate")
    def _check(self, generation: int, base: RunSpec, raw: Raw) -> None:
        """Make the RunSpec (a local model directory is read here) and preflight it."""
        try:
            spec = spec_from_form(base, raw)
        except PlmprofError as exc:
            self.post_message(self.Validated(generation, None, False, str(exc)))
            return
        try:
            planned = self.preflight(spec)
        except PlmprofError as exc:
            self.post_message(self.Validated(generation, spec, False, str(exc)))
        except Exception as exc:  # a check that breaks must not take the form down
            self.post_message(
                self.Validated(generation, spec, False, f"{type(exc).__name__}: {exc}")
            )
        else:
            self.post_message(self.Validated(generation, spec, True, describe_plan(planned)))

    def on_setup_pane_validated(self, message: Validated) -> None:
        self._show_validation(message.generation, message.spec, message.ok, message.text)
        if message.generation == self.generation and self._select("model") == LOCAL_MODEL:
            self._show_model_info(message.spec)

    def _show_validation(self, generation: int, spec: RunSpec | None, ok: bool, text: str) -> None:
        if generation != self.generation:
            return  # the form changed since: a newer check is on its way
        self.checked = (spec, ok, text)
        line = Text("✓ " + text, style="green") if ok else Text("✗ " + text, style="bold red")
        self.query_one("#validation", Label).update(line)
        self.query_one("#run-button", Button).disabled = not ok

    def problem_with(self, spec: RunSpec) -> str | None:
        """Why ``spec`` cannot run, if the last finished check was of this very spec."""
        checked, ok, text = self.checked
        if checked is not None and checked == spec and not ok:
            return text
        return None

    # -- model facts -----------------------------------------------------------------------
    def _show_model_info(self, spec: RunSpec | None = None) -> None:
        """The model's facts; a local directory's once ``spec`` (checked) names it."""
        shown = self.query_one("#model-info", Label)
        model = self._select("model")
        if model == LOCAL_MODEL:
            if spec is None or spec.model in MODELS:
                shown.update(Text(LOCAL_HINT + " (as plmprof run -m DIR)", style="dim"))
                return
            info = get_model_info(spec.model)  # read when the spec was made: remembered
            count: int | None = info.expected_params  # counted from its config.json
        else:
            info = MODELS[model]
            if model not in self.counts:
                self.counts[model] = None
                self._count(info)
            count = self.counts.get(model)
        params = (
            f"{count:,} parameters"
            if count is not None
            else f"{info.expected_params:,} (published)"
        )
        longest = f"up to {info.max_residues:,} residues" if info.max_residues else "any length"
        notes = f" · {'; '.join(info.notes)}" if info.notes else ""
        shown.update(Text.assemble((info.id, "bold"), f" · {params} · {longest}{notes}"))

    @work(thread=True, group="params")
    def _count(self, info: ModelInfo) -> None:
        try:
            count: int | None = self.param_counter(info)
        except Exception:
            count = None
        self.post_message(self.Counted(info.id, count))

    def on_setup_pane_counted(self, message: Counted) -> None:
        self.counts[message.model] = message.count
        if message.model == self._select("model"):
            self._show_model_info()
