"""The setup form: model, device, dtype, optimizations, batching, workload and stopping rule,
then every other setting ``plmprof run`` takes in folded sections generated from the settings'
descriptions (``tui.screens.setup_fields``); the values become a RunSpec in
``tui.screens.setup_form``.

Every change is checked in a thread, the way a run would be: the form's values become a
``RunSpec`` (validated on construction) and go through ``check_runnable``. What cannot run is
explained under the form and the Run button is disabled, so no combination is discovered by a
crash.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.suggester import SuggestFromList
from textual.timer import Timer
from textual.widgets import Button, Checkbox, Input, Label, Select

from engines.catalog import MODELS, ModelInfo
from engines.errors import PlmprofError
from engines.spec import (
    ATTENTIONS,
    COMPILE_MODES,
    DTYPES,
    INT8_SCHEMES,
    MODES,
    RunSpec,
)
from engines.training.settings import FINETUNES, TASKS
from profilers.options import MeasureOptions
from tui.screens.setup_fields import (
    compose_folded,
    field_text,
    folded_fields,
    measure_field_names,
    measure_options,
    widget_id,
)
from tui.screens.setup_form import (
    BATCHING,
    PRUNE_SUGGESTIONS,
    WORKLOAD_DEFAULTS,
    WORKLOAD_HINTS,
    WORKLOADS,
    FormValues,
    describe_plan,
    model_label,
    pruning_text,
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
        base = self.base

        def select(ident: str, options: Sequence[tuple[str, str]], value: str) -> Select[str]:
            return Select(options, value=value, allow_blank=False, compact=True, id=ident)

        def choices(values: Sequence[str]) -> list[tuple[str, str]]:
            return [(v, v) for v in values]

        with VerticalScroll(id="setup-scroll"):
            with Vertical(id="form"):
                yield Label("model", classes="field")
                yield select("model", [(model_label(i), i.id) for i in MODELS.values()], base.model)
                yield Label("device", classes="field")
                yield select("device", choices(self.devices), self.default_device)
                yield Label("dtype", classes="field")
                yield select("dtype", choices(DTYPES), base.dtype)
                yield Label("int8", classes="field")
                yield select("int8", choices(INT8_SCHEMES), base.int8)
                yield Label("pruning", classes="field")
                yield Input(
                    pruning_text(base),
                    placeholder="none, 2:4, unstructured:S; layers:N, heads:N",
                    suggester=SuggestFromList(PRUNE_SUGGESTIONS),
                    compact=True,
                    id="prune",
                )
                yield Label("attention", classes="field")
                yield select("attention", choices(ATTENTIONS), base.attention)
                yield Label("compile", classes="field")
                yield select("compile", choices(COMPILE_MODES), base.compile)
                yield Label("batching", classes="field")
                with Horizontal(classes="pair"):
                    yield select("batching", BATCHING, "batch")
                    yield Input(
                        str(base.batch_size), type="integer", compact=True, id="batch-value"
                    )
                yield Label("workload", classes="field")
                with Horizontal(classes="pair"):
                    yield select("workload", WORKLOADS, "seq_len")
                    yield Input(
                        str(base.seq_len),
                        placeholder=WORKLOAD_HINTS["seq_len"],
                        compact=True,
                        id="workload-value",
                    )
                yield Label("duration s", classes="field")
                yield Input(f"{base.duration_s:g}", type="number", compact=True, id="duration")
                yield Label("warm-up calls", classes="field")
                yield Input(str(base.warmup), type="integer", compact=True, id="warmup")
                yield Label("min batches", classes="field")
                yield Input(str(base.min_iters), type="integer", compact=True, id="min-iters")
                yield Label("workers", classes="field")
                yield Input(str(base.workers), type="integer", compact=True, id="workers")
                yield Label("mode", classes="field")
                yield select("mode", choices(MODES), base.mode)
                yield Label("training task", classes="field")
                with Horizontal(classes="pair"):
                    yield select("task", choices(TASKS), base.task)
                    yield select("finetune", choices(FINETUNES), base.finetune)
                yield Label("labels · lr", classes="field")
                with Horizontal(classes="pair"):
                    yield Input(
                        base.labels or "",
                        placeholder="id,label CSV (training)",
                        compact=True,
                        id="labels",
                    )
                    yield Input(f"{base.lr:g}", type="number", compact=True, id="lr")
            yield Label("", id="model-info")
            yield Label(Text("checking…", style="dim"), id="validation")
            yield Button("Run  (r)", id="run-button", variant="success", compact=True)
            yield from compose_folded(base, self.measure_base)

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
    def _select(self, ident: str) -> str:
        value = self.query_one(f"#{ident}", Select).value
        return "" if value is Select.NULL else str(value)

    def _input(self, ident: str) -> str:
        return self.query_one(f"#{ident}", Input).value

    def values(self) -> FormValues:
        return FormValues(
            model=self._select("model"),
            device=self._select("device"),
            dtype=self._select("dtype"),
            int8=self._select("int8"),
            prune=self._input("prune"),
            attention=self._select("attention"),
            compile=self._select("compile"),
            batching=self._select("batching"),
            batch_value=self._input("batch-value"),
            workload=self._select("workload"),
            workload_value=self._input("workload-value"),
            duration=self._input("duration"),
            warmup=self._input("warmup"),
            min_iters=self._input("min-iters"),
            workers=self._input("workers"),
            mode=self._select("mode"),
            task=self._select("task"),
            finetune=self._select("finetune"),
            labels=self._input("labels"),
            lr=self._input("lr"),
            more=self._folded(),
        )

    def _folded(self) -> dict[str, str | bool]:
        """The folded sections' widgets, by field name."""
        names = [i.name for i in folded_fields()] + list(measure_field_names())
        found: dict[str, str | bool] = {}
        for name in names:
            widget = self.query_one(f"#{widget_id(name)}")
            found[name] = widget.value if isinstance(widget, Checkbox | Input) else ""
        return found

    def spec(self) -> RunSpec:
        """The RunSpec the form holds; raises ``InvalidInputError`` when it holds none."""
        return spec_from_form(self.base, self.values())

    def options(self) -> MeasureOptions:
        """How runs are measured and priced, with the price section's values."""
        return measure_options(self.measure_base, self._folded())

    def load(self, spec: RunSpec) -> list[str]:
        """Fill the form from ``spec``; returns what could not be carried over."""
        lost: list[str] = []
        self.base = spec
        for ident in ("model", "dtype", "int8", "attention", "compile", "mode", "task", "finetune"):
            self.query_one(f"#{ident}", Select).value = getattr(spec, ident)
        if spec.device in self.devices:
            self.query_one("#device", Select).value = spec.device
        else:
            lost.append(f"device {spec.device} is not on this machine")
        self.query_one("#prune", Input).value = pruning_text(spec)
        if spec.packing and not spec.token_budget:
            lost.append("packing sized by batch x longest (the form packs by token budget)")
        packed = spec.packing and spec.token_budget
        batching = "packed" if packed else "budget" if spec.token_budget else "batch"
        self.query_one("#batching", Select).value = batching
        size = spec.token_budget or spec.batch_size
        self.query_one("#batch-value", Input).value = str(size)
        kind = "seq_len" if spec.seq_len is not None else "lengths" if spec.lengths else "fasta"
        value = {"seq_len": spec.seq_len, "lengths": spec.lengths, "fasta": spec.fasta}[kind]
        self._workload_values[kind] = str(value)
        self.query_one("#workload", Select).value = kind
        self.query_one("#workload-value", Input).value = str(value)
        self.query_one("#duration", Input).value = f"{spec.duration_s:g}"
        self.query_one("#warmup", Input).value = str(spec.warmup)
        self.query_one("#min-iters", Input).value = str(spec.min_iters)
        self.query_one("#workers", Input).value = str(spec.workers)
        self.query_one("#labels", Input).value = spec.labels or ""
        self.query_one("#lr", Input).value = f"{spec.lr:g}"
        for info in folded_fields():
            widget = self.query_one(f"#{widget_id(info.name)}")
            if isinstance(widget, Checkbox | Input):
                widget.value = field_text(info, getattr(spec, info.name))
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
            self._workload_values[self._select("workload")] = self._input("workload-value")
        elif ident == "model":
            self._show_model_info()
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
        generation = self.generation
        try:
            spec = self.spec()
        except PlmprofError as exc:
            self._show_validation(generation, None, False, str(exc))
            return
        self._preflight(generation, spec)

    @work(thread=True, exclusive=True, group="validate")
    def _preflight(self, generation: int, spec: RunSpec) -> None:
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
    def _show_model_info(self) -> None:
        model = self._select("model")
        info = MODELS.get(model)
        if info is None:
            return
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
        self.query_one("#model-info", Label).update(
            Text.assemble((info.id, "bold"), f" · {params} · {longest}{notes}")
        )

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
