"""The interactive profiler: set up a run, watch it live, keep every run.

``create_app`` is the factory: the CLI calls it with the real ``Session``; tests call it with a
fake session (``run()``/``stop()``, feeding prepared snapshots) so that every screen is
deterministic. A run's blocking ``Session.run()`` lives in a thread worker; its snapshot callback
posts a message that merges with queued ones under bursts, and the live view is drawn on a timer
from the latest snapshot only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen
from textual.widgets import Footer, Header, Select, TabbedContent, TabPane

from engines.errors import PlmprofError
from engines.messages import Status
from engines.spec import RunSpec
from profilers.options import MeasureOptions
from profilers.report import load_folder
from profilers.result import Result, failed_result
from profilers.snapshot import Snapshot
from profilers.telemetry.samples import TelemetrySample
from tui.app_support import (
    IdleSample,
    RunFinished,
    Sampler,
    SessionFactory,
    SessionLike,
    SnapshotReady,
    check_runnable,
    counted_parameters,
    detect_devices,
    prepare_process,
    terminal_session,
)
from tui.render.summary import status_words
from tui.screens.compare import CompareScreen
from tui.screens.export import ExportScreen
from tui.screens.help import HelpScreen
from tui.screens.live import LivePane
from tui.screens.runs import RunsPane
from tui.screens.setup import ParamCounter, Preflight, SetupPane
from tui.widgets.history import LiveHistory
from tui.widgets.runs_table import RunsTable
from tui.widgets.units import SHORT, SHORT_ROWS
from tui.widgets.workers import LiveRun

DEFAULT_RESULTS_DIR = Path("plmprof-results")
_NOT_BEHIND_DIALOGS = frozenset({"start_run", "export", "compare", "show_tab"})
DRAW_INTERVAL_S = 0.25  # the live view redraws four times a second
IDLE_INTERVAL_S = 1.0  # device readings between runs


class PlmprofApp(App[list[Result]]):
    """Returns the runs of the session (as the runs table holds them) when it exits."""

    CSS_PATH = "plmprof.tcss"
    TITLE = "plmprof"
    ENABLE_COMMAND_PALETTE = False
    HORIZONTAL_BREAKPOINTS = [  # noqa: RUF012 - App declares it this way
        (0, "-narrow"),
        (80, "-medium"),
        (160, "-wide"),
    ]
    VERTICAL_BREAKPOINTS = [(0, SHORT), (SHORT_ROWS, "-tall")]  # noqa: RUF012 - as above
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "start_run", "Run"),
        Binding("ctrl+r", "start_run", "Run, also from a text box", show=False, priority=True),
        Binding("s", "stop_run", "Stop"),
        Binding("e", "export", "Export"),
        Binding("c", "compare", "Compare"),
        Binding("1", "show_tab('setup')", "Setup tab", show=False),
        Binding("2", "show_tab('live')", "Live tab", show=False),
        Binding("3", "show_tab('runs')", "Runs tab", show=False),
        Binding("question_mark", "help", "Help"),
        Binding("q", "quit_app", "Quit"),
        Binding("ctrl+q", "quit_app", "Quit, also from a text box", show=False, priority=True),
    ]

    def __init__(
        self,
        *,
        session_factory: SessionFactory,
        results_dir: Path,
        options: MeasureOptions,
        sampler: Sampler | None,
        devices: Sequence[str] | None,
        default_device: str | None,
        preflight: Preflight,
        param_counter: ParamCounter,
        base_spec: RunSpec | None,
        draw_interval_s: float = DRAW_INTERVAL_S,
    ) -> None:
        super().__init__()
        self.session_factory = session_factory
        self.results_dir = results_dir
        self.options = options
        self.sampler = sampler
        self._setup_args: dict[str, Any] = {
            "devices": devices,
            "default_device": default_device,
            "preflight": preflight,
            "param_counter": param_counter,
            "detector": detect_devices if devices is None else None,
            "base": base_spec,
            "options": options,
        }
        self.draw_interval_s = draw_interval_s
        self.history = LiveHistory()
        self.live_run: LiveRun | None = None
        self.idle: TelemetrySample | None = None
        self._session: SessionLike | None = None
        self._token = 0
        self._drawn: Snapshot | None = None
        self._dirty = True
        self._quit_when_done = False
        self._event_loop: asyncio.AbstractEventLoop | None = None
        self.sub_title = f"results → {results_dir}/"

    # -- layout ----------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header()
        with TabbedContent(initial="setup", id="tabs"):
            with TabPane("1 Setup", id="setup"):
                yield SetupPane(id="setup-pane", **self._setup_args)
            with TabPane("2 Live", id="live"):
                yield LivePane(id="live-pane")
            with TabPane("3 Runs", id="runs"):
                yield RunsPane(self.results_dir, id="runs-pane")
        yield Footer()

    def on_mount(self) -> None:
        self._event_loop = asyncio.get_running_loop()
        self.set_interval(self.draw_interval_s, self.draw)
        if self.sampler is not None:
            self.set_interval(IDLE_INTERVAL_S, self._idle_tick)
        self.query_one("#model", Select).focus()
        self._load_saved_runs()

    def _load_saved_runs(self) -> None:
        """Earlier sessions' Results in the results folder, as rows of the Runs tab (oldest
        first), so they can be compared, exported and re-run (R) like this session's."""
        if not self.results_dir.is_dir():
            return
        loaded = load_folder(self.results_dir, required=False)
        results = sorted((r for _, r in loaded.results), key=lambda r: r.created_at)
        self.table.add_results(results)
        message = f"{len(results)} earlier run(s) loaded from {self.results_dir}"
        if loaded.unreadable:
            message += f"; {len(loaded.unreadable)} unreadable file(s) skipped"
        if results or loaded.unreadable:
            self.notify(message)

    @property
    def running(self) -> bool:
        return self.live_run is not None and self.live_run.result is None

    @property
    def table(self) -> RunsTable:
        return self.query_one(RunsTable)

    def runs(self) -> list[Result]:
        """The runs as the table shows them."""
        return self.table.ordered()

    # -- drawing ---------------------------------------------------------------------------
    def draw(self) -> None:
        """Draw the live view from the latest snapshot; nothing else feeds it."""
        run = self.live_run
        snapshot = run.snapshot if run is not None else None
        if snapshot is not None and snapshot is not self._drawn:
            self.history.push(snapshot)
            self._drawn = snapshot
            self._dirty = True
        if self._dirty:
            self._dirty = False
            self.query_one(LivePane).draw(run, self.history, None if self.running else self.idle)

    def redraw(self) -> None:
        """Draw the live view now even if no new snapshot came (after its history changed)."""
        self._dirty = True
        self.draw()

    def on_snapshot_ready(self, message: SnapshotReady) -> None:
        if self.live_run is not None and message.token == self._token:
            self.live_run.snapshot = message.snapshot

    def _idle_tick(self) -> None:
        if not self.running and self.sampler is not None:
            self._sample_idle(self.sampler)

    @work(thread=True, exclusive=True, group="idle")
    def _sample_idle(self, sampler: Sampler) -> None:
        try:
            sample = sampler()
        except Exception:
            sample = None
        self.post_message(IdleSample(sample))

    def on_idle_sample(self, message: IdleSample) -> None:
        if not self.running:
            self.idle = message.sample
            self.history.push_telemetry(message.sample)
            self._dirty = True

    # -- runs ------------------------------------------------------------------------------
    def action_start_run(self) -> None:
        if self.running:
            self.notify("A run is going on: s stops it.", severity="warning")
            return
        setup = self.query_one(SetupPane)
        try:
            spec = setup.spec()
        except PlmprofError as exc:
            self.action_show_tab("setup")
            self.notify(str(exc), title="cannot run", severity="error")
            return
        problem = setup.problem_with(spec)
        if problem is not None:
            self.action_show_tab("setup")
            self.notify(problem, title="cannot run", severity="error")
            return
        try:
            self.options = setup.options()
        except PlmprofError as exc:
            self.action_show_tab("setup")
            self.notify(str(exc), title="cannot run", severity="error")
            return
        self.start(spec)

    def start(self, spec: RunSpec) -> None:
        """Run ``spec`` now, in a thread, and show it live."""
        self._token += 1
        self.live_run = LiveRun(spec)
        self.history.clear()
        self._drawn = None
        self._dirty = True
        self.action_show_tab("live")
        self._run_session(self._token, spec)
        self.draw()

    @work(thread=True, group="run")
    def _run_session(self, token: int, spec: RunSpec) -> None:
        def on_snapshot(snapshot: Snapshot) -> None:
            self.post_message(SnapshotReady(token, snapshot))

        run = self.live_run
        try:
            session = self.session_factory(spec, self.options, on_snapshot=on_snapshot)
            self._session = session
            if run is not None and run.stopping:
                session.stop()
            result = session.run()
        except Exception as exc:  # the app stays up whatever the run does
            result = failed_result(spec, self.options, exc)
        # Saved here, not by the app: after a quit at once (q twice) the app is gone while the
        # stopped run ends, and what it measured must still reach the results folder.
        try:
            saved = result.save(self.results_dir / f"{result.run_id}.json")
        except PlmprofError as exc:
            self.post_message(RunFinished(token, result, None, str(exc)))
            return
        self.post_message(RunFinished(token, result, saved, None))

    def on_run_finished(self, message: RunFinished) -> None:
        run = self.live_run
        if run is None or message.token != self._token:
            return
        self._session = None
        result = message.result
        run.result = result
        run.saved = message.saved
        if message.save_error is not None:
            run.save_error = message.save_error
            self.notify(f"could not save the result: {message.save_error}", severity="error")
        if not self.query(RunsTable):  # the app is closing: the run's thread saved the Result
            return
        self.table.add_result(result)
        words = status_words(result.status)
        fine = result.status in (Status.OK, Status.INTERRUPTED)
        severity: Literal["information", "error"] = "information" if fine else "error"
        self.notify(
            result.message or f"run {result.run_id}: {words}", title=words, severity=severity
        )
        self._dirty = True
        self.draw()
        if self._quit_when_done:
            self.exit(self.runs())

    def action_stop_run(self) -> None:
        run = self.live_run
        if run is None or run.result is not None:
            self.notify("Nothing is running.", severity="warning")
            return
        if not run.stopping:
            run.stopping = True
            if self._session is not None:
                self._session.stop()
            self.notify("Stopping: what was measured is kept.")
        self._dirty = True

    # -- runs table, compare, export -------------------------------------------------------
    def on_runs_table_rerun(self, message: RunsTable.Rerun) -> None:
        if self.running:
            self.notify("A run is going on: s stops it.", severity="warning")
            return
        spec = self._spec_of(message.result, "cannot re-run")
        if spec is not None:
            self._load_into_setup(spec)
            self.start(spec)

    def on_runs_table_load(self, message: RunsTable.Load) -> None:
        spec = self._spec_of(message.result, "cannot load")
        if spec is not None:
            self._load_into_setup(spec)
            self.action_show_tab("setup")

    def _spec_of(self, result: Result, failure: str) -> RunSpec | None:
        """The RunSpec a saved run ran, or None after telling why it cannot be read."""
        try:
            return RunSpec.from_dict(result.spec)
        except PlmprofError as exc:
            self.notify(str(exc), title=failure, severity="error")
            return None

    def _load_into_setup(self, spec: RunSpec) -> None:
        lost = self.query_one(SetupPane).load(spec)
        if lost:
            self.notify("not on the form: " + "; ".join(lost), severity="warning")

    def action_compare(self) -> None:
        chosen = self.table.selected_results()
        if len(chosen) < 2:
            self.action_show_tab("runs")
            self.notify("Select two or more runs with space, then press c.", severity="warning")
            return
        self.push_screen(CompareScreen(chosen, dict(self.table.numbers)))

    def action_export(self) -> None:
        everything = self.runs()
        if not everything:
            self.notify("Nothing to export yet: no run has finished.", severity="warning")
            return

        def exported(path: Path | None) -> None:
            if path is not None:
                self.notify(f"exported to {path}", title="export")

        selected = self.table.selected_results()
        self.push_screen(ExportScreen(selected, everything, self.results_dir), exported)

    # -- moving around ---------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Behind a dialog only stop, help and quit act; the rest waits until it is closed."""
        return not (isinstance(self.screen, ModalScreen) and action in _NOT_BEHIND_DIALOGS)

    def action_show_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab
        if tab == "runs":
            self.table.focus()
        elif tab == "live":
            self.query_one(LivePane).focus()
        elif tab == "setup":
            self.query_one("#model", Select).focus()

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_quit_app(self) -> None:
        if self.running and not self._quit_when_done:
            self._quit_when_done = True
            self.action_stop_run()
            self.notify("Quitting once the run has stopped; q again quits at once.")
            return
        self.exit(self.runs())

    def quit_for_signal(self) -> None:
        """A stop signal (SIGTERM, SIGHUP) came: what q does, stop the run, save what it
        measured, then quit; a second one quits at once. Called from a signal handler: the work
        is handed to the app's event loop. Before the app is on screen it ends plmprof as Ctrl-C
        does."""
        if self._event_loop is None:
            raise KeyboardInterrupt
        self._event_loop.call_soon_threadsafe(self.action_quit_app)

    def on_unmount(self) -> None:
        if self._session is not None:
            self._session.stop()


def create_app(
    *,
    session_factory: SessionFactory = terminal_session,
    results_dir: Path | str = DEFAULT_RESULTS_DIR,
    options: MeasureOptions | None = None,
    sampler: Sampler | None = None,
    devices: Sequence[str] | None = None,
    default_device: str | None = None,
    preflight: Preflight = check_runnable,
    param_counter: ParamCounter = counted_parameters,
    base_spec: RunSpec | None = None,
    draw_interval_s: float = DRAW_INTERVAL_S,
) -> PlmprofApp:
    """The app. ``devices=None`` detects them (in a thread) and starts on the best one;
    ``sampler`` gives device readings between runs (none when ``None``); every finished run's
    Result is saved as ``results_dir/<run_id>.json``, and workers' output goes to
    ``results_dir/worker-output.log``."""
    prepare_process(Path(results_dir))
    return PlmprofApp(
        session_factory=session_factory,
        results_dir=Path(results_dir),
        options=options or MeasureOptions(),
        sampler=sampler,
        devices=devices,
        default_device=default_device,
        preflight=preflight,
        param_counter=param_counter,
        base_spec=base_spec,
        draw_interval_s=draw_interval_s,
    )
