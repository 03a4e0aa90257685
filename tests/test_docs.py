"""The README and docs/ stand alone: every link inside them resolves, and nothing points a user at
files outside the repository (the developers' design notes are not shipped)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
SOURCES = [
    p for pkg in ("engines", "profilers", "tui", "benchmarks") for p in (REPO / pkg).rglob("*.py")
]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
OUTSIDE = re.compile(r"\.\./shared|shared/reference|shared/fixtures")


def heading_anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to '-'."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    lines = page.read_text().splitlines()
    return {heading_anchor(line.lstrip("#")) for line in lines if line.startswith("#")}


def local_links(page: Path) -> list[str]:
    targets = LINK.findall(page.read_text())
    return [t for t in targets if not re.match(r"[a-z]+:", t)]


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_every_local_link_resolves(page: Path) -> None:
    broken = []
    for target in local_links(page):
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(f"{target} (no file)")
        elif anchor and file.suffix == ".md" and anchor not in anchors(file):
            broken.append(f"{target} (no heading)")
    assert not broken, f"{page.name}: {broken}"


def test_the_anchor_rule_matches_githubs() -> None:
    assert heading_anchor(" Cost per million inferences") == "cost-per-million-inferences"
    assert (
        heading_anchor(" What `--passes 1` covers (model-only)")
        == "what---passes-1-covers-model-only"
    )


def test_nothing_points_outside_the_repository() -> None:
    hits = [
        f"{page.relative_to(REPO)}: {line.strip()}"
        for page in PAGES + SOURCES
        for line in page.read_text().splitlines()
        if OUTSIDE.search(line)
    ]
    assert not hits, f"these point at files users do not have: {hits}"
