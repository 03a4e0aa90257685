"""Every bad input: one clear line naming the problem, exit code 2, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.cli import invoke


def _fail(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    code = invoke(["run", *argv, "--results-dir", "/nonexistent-never-written"])
    captured = capsys.readouterr()
    text = captured.err + captured.out
    assert code == 2, text
    assert "Traceback" not in text
    return " ".join(text.split())


@pytest.fixture
def fasta(tmp_path: Path):
    def write(name: str, content: bytes) -> str:
        path = tmp_path / name
        path.write_bytes(content)
        return str(path)

    return write


def test_unknown_model_suggests_ids(capsys: pytest.CaptureFixture[str]) -> None:
    text = _fail(capsys, "--model", "esm2_650M")
    assert "unknown model 'esm2_650M'" in text
    assert "Did you mean esm2_t33_650M" in text


def test_unknown_device(capsys: pytest.CaptureFixture[str]) -> None:
    assert "unknown device 'gpu'" in _fail(capsys, "--device", "gpu")


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="a GPU is present here")
def test_cuda_without_cuda(capsys: pytest.CaptureFixture[str]) -> None:
    assert "no CUDA device is visible" in _fail(capsys, "--device", "cuda")


def test_unknown_dtype(capsys: pytest.CaptureFixture[str]) -> None:
    assert "dtype 'fp8' is not one of fp32, fp16, bf16" in _fail(capsys, "--dtype", "fp8")


@pytest.mark.parametrize(
    ("flag", "value", "words"),
    [
        ("--batch-size", "0", "batch size must be greater than 0"),
        ("--token-budget", "-5", "token budget must be greater than 0"),
        ("--duration", "0", "duration must be greater than 0"),
        ("--seq-len", "0", "sequence length must be greater than 0"),
        ("--memory-limit", "lots", "cannot read memory size 'lots'"),
        ("--buckets", "128,abc", "bucket"),
        ("--export", "xml", "export format 'xml' is not one of json, csv, md"),
        ("--neuron-target", "trn9", "Neuron target 'trn9' is not one of inf2, trn1"),
        ("--optlevel", "4", "Neuron optlevel must be 1, 2 or 3 (got 4)"),
    ],
)
def test_bad_numbers_and_names(
    capsys: pytest.CaptureFixture[str], flag: str, value: str, words: str
) -> None:
    assert words in _fail(capsys, flag, value)


def test_missing_fasta(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert "does not exist" in _fail(capsys, "--fasta", str(tmp_path / "nope.fa"))


def test_empty_fasta(capsys: pytest.CaptureFixture[str], fasta) -> None:
    assert "empty" in _fail(capsys, "--fasta", fasta("empty.fa", b"")).lower()


def test_binary_file(capsys: pytest.CaptureFixture[str], fasta) -> None:
    text = _fail(capsys, "--fasta", fasta("model.bin", b"\x00\x01PK\x03\x04" * 20))
    assert "binary" in text and "not FASTA" in text


def test_record_without_sequence(capsys: pytest.CaptureFixture[str], fasta) -> None:
    text = _fail(capsys, "--fasta", fasta("gap.fa", b">one\nMKT\n>two\n>three\nAAA\n"))
    assert "'two'" in text and "no sequence" in text


def test_invalid_character_names_record_and_position(
    capsys: pytest.CaptureFixture[str], fasta
) -> None:
    text = _fail(capsys, "--fasta", fasta("bad.fa", b">good\nMKTA\n>p53_bad\nMEEPQ\nSD1PS\n"))
    assert "record 'p53_bad'" in text
    assert "'1'" in text and "residue 8" in text


def test_two_workload_sources(capsys: pytest.CaptureFixture[str], fasta) -> None:
    text = _fail(capsys, "--seq-len", "64", "--fasta", fasta("ok.fa", b">a\nMKT\n"))
    assert "give one workload" in text


def test_unknown_flag_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    text = _fail(capsys, "--bogus")
    assert "No such option: --bogus" in text


def test_plain_plmprof_opens_the_app_with_its_measurement_flags(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import tui.commands.interactive as interactive

    opened: list[tuple[Path, object]] = []
    monkeypatch.setattr(interactive, "open_app", lambda d, o: opened.append((d, o)))
    argv = ["--results-dir", str(tmp_path), "--price-per-hour", "2.5", "--peak-tflops", "100"]
    assert invoke(argv) == 0
    [(folder, options)] = opened
    assert folder == tmp_path
    assert getattr(options, "price_per_hour", None) == 2.5
    assert getattr(options, "peak_tflops", None) == 100.0


def test_plain_plmprof_refuses_a_negative_price(capsys: pytest.CaptureFixture[str]) -> None:
    assert invoke(["--price-per-hour", "-1"]) == 2
    assert "--price-per-hour must be >= 0 (got -1.0)" in capsys.readouterr().err


def test_a_profiler_failure_is_a_saved_result_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    class Broken:
        def __init__(self, *args: object, **kwargs: object) -> None:
            pass

        def preflight(self) -> list[str]:
            return []

        def run(self) -> None:
            raise RuntimeError("the sampler thread died")

    monkeypatch.setattr("tui.commands.run_command.Session", Broken)
    code = invoke(["run", "--seq-len", "8", "--results-dir", str(tmp_path)])
    text = " ".join(capsys.readouterr().err.split())
    assert code == 1 and "Traceback" not in text
    assert "error: RuntimeError: the sampler thread died" in text
    [saved] = tmp_path.glob("*.json")
    assert '"status": "error"' in saved.read_text()
