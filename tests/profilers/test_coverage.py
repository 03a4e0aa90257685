"""Which sequences a run measured (coverage), the full-pass mode and what the summary says."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from engines.errors import InvalidInputError
from engines.runner import _schedule
from engines.spec import RunSpec, window_warning
from profilers.result import Result
from tests.tiny_models import result_of, run_in_process, tiny_spec
from tui.render.summary import result_table

# A proteome-like file: varied lengths, one longer than ESM's window of 1,022 residues.
LENGTHS = (30, 50, 1100, 20, 60, 30, 80, 40, 20)


@pytest.fixture
def fasta(tmp_path: Path) -> str:
    path = tmp_path / "proteome.faa"
    path.write_text("".join(f">p{i}\n{'MKTAYIAKQR' * (n // 10)}\n" for i, n in enumerate(LENGTHS)))
    return str(path)


def _run(monkeypatch: pytest.MonkeyPatch, fasta: str, **settings: object) -> Result:
    spec_settings = {"fasta": fasta, "seq_len": None, "batch_size": 2, **settings}
    messages = run_in_process(monkeypatch, **spec_settings)
    return result_of(tiny_spec(**spec_settings), messages)


def _text(result: Result) -> str:
    out = io.StringIO()
    Console(file=out, width=200).print(result_table(result))
    return out.getvalue()


def test_one_full_pass_measures_every_sequence_once(
    monkeypatch: pytest.MonkeyPatch, fasta: str
) -> None:
    result = _run(monkeypatch, fasta, passes=1, duration_s=30.0, min_iters=50)
    assert result.workload is not None and result.throughput is not None
    coverage = result.workload["coverage"]
    assert coverage["sequences_measured"] == coverage["sequences_total"] == len(LENGTHS)
    assert coverage["fraction"] == 1.0 and coverage["passes"] == 1
    assert coverage["batches_measured"] == coverage["batches_total"] == 5
    assert coverage["chosen"] == "every batch of the plan (file order)"
    # each sequence once, whatever duration_s and min_iters say: residues/s is the file's
    # residues (truncated at 1,022) over the measured window
    total = result.workload["residues"]
    assert total == sum(min(n, 1022) for n in LENGTHS)
    assert result.throughput["sequences"] == len(LENGTHS)
    assert result.throughput["residues"] == total
    assert result.throughput["residues_per_s"] == pytest.approx(
        total / result.throughput["window_s"]
    )
    text = _text(result)
    assert "9 of 9 sequences (100%), every batch of the plan (file order)" in text
    assert "1 cut to 1,022 residues" in text
    assert "5: 4 of 2, 1 of 1 sequences" in text  # the batch sizes behind the percentiles
    # 5 batches back no percentile: each shown one is marked, and the note says what it needs
    assert "ms* / " in text
    assert "* too few samples: p50 needs 11, p90 needs 64, p99 needs 662 (this run has 5)" in text
    assert any("cut to the model's window of 1,022" in note for note in result.notes)


def test_two_passes_measure_every_batch_twice(monkeypatch: pytest.MonkeyPatch, fasta: str) -> None:
    result = _run(monkeypatch, fasta, passes=2, duration_s=0.01, min_iters=1)
    assert result.workload is not None and result.throughput is not None
    assert result.workload["coverage"]["passes"] == 2
    assert result.throughput["sequences"] == 2 * len(LENGTHS)


def test_a_duration_run_says_which_part_it_measured(
    monkeypatch: pytest.MonkeyPatch, fasta: str
) -> None:
    result = _run(monkeypatch, fasta, max_iters=2, min_iters=2, duration_s=0.01)
    assert result.workload is not None
    coverage = result.workload["coverage"]
    assert (coverage["sequences_measured"], coverage["sequences_total"]) == (4, 9)
    assert coverage["chosen"] == "the first 2 of 5 batches in plan order (file order)"
    assert coverage["passes"] == 0
    assert "4 of 9 sequences (44.4%), the first 2 of 5" in _text(result)
    sorted_run = _run(monkeypatch, fasta, max_iters=1, min_iters=1, token_budget=200)
    assert sorted_run.workload is not None
    assert "shortest first" in sorted_run.workload["coverage"]["order"]


def test_workers_share_each_pass() -> None:
    batches = ["b0", "b1", "b2", "b3", "b4"]
    spec = RunSpec(workers=2, passes=2)
    assert [n for n, _ in _schedule(0, spec, batches)] == [0, 2, 4, 0, 2, 4]
    assert [n for n, _ in _schedule(1, spec, batches)] == [1, 3, 1, 3]


def test_passes_validation() -> None:
    with pytest.raises(InvalidInputError, match="pick one"):
        RunSpec(passes=1, max_iters=5)
    with pytest.raises(InvalidInputError, match="passes must be greater than 0"):
        RunSpec(passes=0)


def test_a_seq_len_beyond_the_window_is_warned_about() -> None:
    warning = window_warning(RunSpec(model="esm2_t6_8M", seq_len=5000))
    assert warning is not None and "cut to 1,022" in warning
    assert window_warning(RunSpec(model="esm2_t6_8M", seq_len=1022)) is None


def test_start_up_phases_are_measured_in_the_worker(
    monkeypatch: pytest.MonkeyPatch, fasta: str
) -> None:
    result = _run(monkeypatch, fasta, passes=1)
    assert result.timing is not None
    phases = result.timing["startup"]
    # in-process here: no spawn and no import phase; a spawned worker adds both before these
    assert [p["phase"] for p in phases] == ["planning", "building", "optimizing", "warming"]
    assert all(p["seconds"] >= 0 for p in phases)
    assert "planning" in _text(result) and "warming" in _text(result)


def test_end_to_end_times_text_to_host_and_says_so(
    monkeypatch: pytest.MonkeyPatch, fasta: str
) -> None:
    import engines.runner as runner

    calls: list[int] = []
    real = runner.tokenize

    def counted(*args: object) -> object:
        calls.append(1)
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(runner, "tokenize", counted)
    result = _run(monkeypatch, fasta, passes=1, end_to_end=True, warmup=1)
    assert result.latency is not None and result.throughput is not None
    # every timed call (1 warm-up, 5 measured batches) tokenised its batch from the text
    assert len(calls) == 1 + result.latency["count"] == 6
    assert result.latency["covers"].startswith("end to end: sequence text tokenised")
    assert result.throughput["covers"] == result.latency["covers"]
    assert "end to end" in _text(result)
    calls.clear()
    model_only = _run(monkeypatch, fasta, passes=1, warmup=1)
    assert calls == [] and model_only.latency is not None
    assert model_only.latency["covers"].startswith("model only")
    with pytest.raises(InvalidInputError, match="not with --packing"):
        RunSpec(end_to_end=True, packing=True, token_budget=512)
