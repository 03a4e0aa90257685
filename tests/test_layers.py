"""The layering rule: tui → profilers → engines, never upward (import-linter's layers contract)."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _lint(cwd: Path) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("lint-imports") or f"{Path(sys.executable).parent}/lint-imports"
    return subprocess.run([exe], cwd=cwd, capture_output=True, text=True, check=False)


def test_layers_contract_is_kept() -> None:
    run = _lint(ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Layers: tui -> profilers -> engines KEPT" in run.stdout


def test_an_upward_import_breaks_the_contract(tmp_path: Path) -> None:
    for package in ("tui", "profilers", "engines"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "engines" / "bad.py").write_text("import profilers\n")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; sys.path.insert(0, '.'); "
            "from importlinter.cli import lint_imports_command; lint_imports_command()",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode != 0
    assert "BROKEN" in run.stdout
