"""Every relative link and picture in the README and docs/ points at a file that exists."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def relative_targets(text: str) -> list[str]:
    """The link targets of a Markdown text that point into the repository (no scheme, no bare anchor),
    without their #anchor."""
    targets = []
    for target in LINK.findall(text):
        if re.match(r"[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            continue
        targets.append(target.split("#", 1)[0])
    return targets


def test_relative_targets_reads_links_and_pictures():
    text = "[card](docs/A.md) ![chart](b.png) [web](https://x.org/a.md) [here](#top) [sec](C.md#part)"
    assert relative_targets(text) == ["docs/A.md", "b.png", "C.md"]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_links_resolve(page: Path):
    missing = [
        t for t in relative_targets(page.read_text(encoding="utf-8")) if not (page.parent / t).exists()
    ]
    assert not missing, f"{page.relative_to(ROOT)} links to missing files: {missing}"
