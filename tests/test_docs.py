"""The user guide runs: every ```python block of docs/guide/*.md, docs/keras.md and
docs/pytorch.md, in order, one namespace per page (a page's blocks build on each other, as a
reader runs them), in a fresh working directory.

A page that needs an optional package says so in an HTML comment that the rendered page hides,
`<!-- requires: onnx onnxruntime -->`; the page is skipped when one is missing. The guide uses
small synthetic data, so the whole run takes seconds. A block that fails names the page, the
block's first line in the file and the error.
"""

import os
import re
import traceback
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
PAGES = sorted(DOCS.glob("guide/*.md")) + [DOCS / "keras.md", DOCS / "pytorch.md"]
FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.S | re.M)
REQUIRES = re.compile(r"<!--\s*requires:\s*([^>]*?)\s*-->")


def python_blocks(text):
    """(line number of the block's first code line, code) for each ```python block."""
    return [(text.count("\n", 0, m.start(1)) + 1, m.group(1)) for m in FENCE.finditer(text)]


def test_every_page_exists_and_has_code():
    assert (DOCS / "guide").is_dir()
    assert (DOCS / "guide" / "index.md").exists()
    for page in PAGES:
        assert page.exists(), page
        if page.name != "index.md":  # the table of contents
            assert python_blocks(page.read_text(encoding="utf-8")), f"{page} has no python block"


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(DOCS)) for p in PAGES])
def test_page_runs(page, tmp_path, monkeypatch):
    text = page.read_text(encoding="utf-8")
    for required in REQUIRES.findall(text):
        for module in required.split():
            pytest.importorskip(module)
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": f"docs_{page.stem}"}
    for line, code in python_blocks(text):
        try:
            exec(compile(code, f"{page.relative_to(DOCS)}:{line}", "exec"), namespace)
        except Exception:
            pytest.fail(f"{page.relative_to(DOCS)}, the block at line {line} failed:\n"
                        f"{traceback.format_exc()}", pytrace=False)


def test_guide_links_point_inside_the_repository():
    """Relative links of the guide resolve to files of the repository (README and docs speak
    to users of the package: nothing points outside it)."""
    link = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
    for page in PAGES:
        for target in link.findall(page.read_text(encoding="utf-8")):
            if re.match(r"[a-z]+://", target):
                continue
            resolved = (page.parent / target).resolve()
            assert resolved.exists(), f"{page.relative_to(DOCS)} links to missing {target}"
            assert str(resolved).startswith(str(DOCS.parent)), f"{page}: {target} leaves the repository"
