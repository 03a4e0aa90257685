"""Smoke test of benchmarks/gpu_throughput.py on CPU: it runs, prints and appends JSON lines."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest
import torch

from engines.catalog import get_model_info
from engines.tokenizers import get_tokenizer

SCRIPT = Path(__file__).resolve().parents[3] / "benchmarks" / "gpu_throughput.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gpu_throughput", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gpu_throughput"] = module
    spec.loader.exec_module(module)
    return module


def test_candidate_names(bench: ModuleType) -> None:
    c = bench.parse_candidate("packed-varlen-compile-feeder", "proteome", torch.bfloat16)
    assert (c.kind, c.attention, c.compile, c.feeder) == ("packed", "varlen", "default", True)
    c = bench.parse_candidate("hf-tuned-cudagraphs", "batch1", torch.bfloat16)
    assert (c.kind, c.attention, c.compile, c.batching) == (
        "hf",
        "sdpa",
        "reduce-overhead",
        "single",
    )
    c = bench.parse_candidate("first-script", "fixed512", torch.bfloat16)
    assert (c.dtype, c.batching) == (torch.float32, "file-order")
    with pytest.raises(SystemExit):
        bench.parse_candidate("packed-flash", "fixed512", torch.bfloat16)


def test_cpu_smoke_run(
    bench: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "results.jsonl"
    code = bench.main(
        [
            "--device=cpu",
            "--model=esm2_t6_8M",
            "--workload=fixed512",
            "--limit=4",
            "--budget=1024",
            "--min-seconds=0",
            "--dtype=fp32",
            "--quality-sequences=2",
            "--candidates=first-script,hf-tuned,packed-jagged,packed-masked",
            f"--append={out}",
        ]
    )
    printed = capsys.readouterr().out
    assert code == 0
    assert "targets: not judged" in printed
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["candidate"] for r in lines] == [
        "first-script",
        "hf-tuned",
        "packed-jagged",
        "packed-masked",
    ]
    for r in lines:
        assert r["status"] == "ok" and r["sequences_per_s"] > 0
        assert r["quality"]["cosine_min"] >= 0.9999
        assert r["useful_mfu"] is None  # no CPU peak without --peak-tflops
    packed = lines[2]
    assert packed["per_pass_real_tokens"] == 4 * 512 == packed["per_pass_computed_tokens"]
    assert get_model_info(packed["model"]).id == "esm2_t6_8M"


def test_unsupported_packing_is_reported(bench: ModuleType, tmp_path: Path) -> None:
    record = bench.run_guarded(
        bench.Context(
            bench.parse_args(["--device=cpu", "--model=prot_t5_xl_enc", "--workload=batch1"]),
            get_model_info("prot_t5_xl_enc"),
            bench.Workload("batch1", [], "none", 0),
            get_tokenizer("prott5"),
            torch.device("cpu"),
            "cpu",
            None,
            None,
            None,
            [],
        ),
        bench.parse_candidate("packed-jagged", "batch1", torch.bfloat16),
    )
    assert record["status"] == "unsupported" and "T5 encoders" in record["error"]
