"""The docs site: its nav lists every page, tools/check_site.py catches what it is meant to catch, and
(slow: CI's -m slow run, after .ci/run has installed the docs extra) a strict build fails on a broken
link or a page left out of the nav, while a repository file linked from a page is served.

The real site is built and checked in headless Chromium by .ci/run itself (tools/check_site.py).
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import check_site  # noqa: E402

NAV_PAGE = re.compile(r"^\s*-\s*(?:[^:#]+:\s*)?([\w/.-]+\.md)\s*$", flags=re.M)


def nav_pages() -> set[str]:
    """The pages mkdocs.yml's nav lists (commented lines excluded)."""
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    nav = config.split("\nnav:\n", 1)[1].split("\n\n", 1)[0]
    return set(NAV_PAGE.findall(nav))


def test_nav_lists_every_page_and_only_pages_that_exist():
    pages = {p.name for p in (ROOT / "docs").glob("*.md")}
    listed = nav_pages()
    assert pages - listed == set(), f"docs pages missing from mkdocs.yml's nav: {sorted(pages - listed)}"
    assert listed - pages == set(), f"mkdocs.yml's nav lists pages that do not exist: {sorted(listed - pages)}"


def test_mathjax_is_served_by_the_site_not_a_cdn():
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    assert "javascripts/mathjax/tex-svg.js" in config
    assert "://" not in "".join(line.split("#")[0] for line in config.splitlines() if "javascript" in line)


# -- what check_site reports, on made-up reports and screenshots --------------------------------------

GOOD_FORMULA = {"tex": "\\[J_l\\]", "rendered": True, "glyphs": 12, "error": False, "raw_tex": False,
                "box": [10, 10, 200, 40]}
GOOD_IMAGE = {"src": "../figures/a.png", "loaded": True, "natural": [640, 480], "box": [10, 100, 200, 100]}


def report(formulas=(GOOD_FORMULA,), images=(GOOD_IMAGE,), mathjax=True):
    return {"mathjax": mathjax, "formulas": list(formulas), "images": list(images), "height": 400}


def test_a_good_page_has_no_problems():
    assert check_site.report_problems(report()) == []


@pytest.mark.parametrize("change, expected", [
    ({"raw_tex": True}, "raw TeX"),
    ({"rendered": False}, "not rendered"),
    ({"glyphs": 0}, "not rendered"),
    ({"error": True}, "TeX error"),
    ({"box": [10, 10, 0, 0]}, "empty box"),
])
def test_a_formula_left_unrendered_is_reported(change, expected):
    problems = check_site.report_problems(report(formulas=[{**GOOD_FORMULA, **change}]))
    assert len(problems) == 1 and expected in problems[0], problems


def test_a_figure_that_did_not_load_and_a_missing_mathjax_are_reported():
    problems = check_site.report_problems(report(images=[{**GOOD_IMAGE, "loaded": False}], mathjax=False))
    assert any("../figures/a.png did not load" in p for p in problems), problems
    assert any("MathJax did not load" in p for p in problems), problems
    assert check_site.report_problems(report(formulas=(), images=())) == [
        "the page has no formula (.arithmatex): nothing to check",
        "the page has no figure (<img> in the article): nothing to check"]


def test_blank_screenshots_and_blank_boxes_are_reported():
    rng = np.random.default_rng(0)
    page = rng.uniform(0, 255, (400, 400))
    assert check_site.blank_problems(page, report()) == []
    assert any("screenshot is blank" in p for p in check_site.blank_problems(np.full((400, 400), 255.0), report()))
    page[100:200, 10:210] = 255.0  # the figure's box, one colour
    assert [p for p in check_site.blank_problems(page, report()) if "figure" in p] == [
        "figure ../figures/a.png is blank in the screenshot: grey-level std 0.00 < 4.0"]
    outside = {**GOOD_IMAGE, "box": [10, 900, 100, 100]}
    assert any("outside the screenshot" in p for p in check_site.blank_problems(page, report(images=[outside])))


def test_the_report_is_read_back_from_a_dumped_dom():
    payload = report()
    dom = (f'<html><body><p>x</p><pre id="{check_site.REPORT_ID}" hidden="">'
           f'{json.dumps(payload).replace("&", "&amp;").replace("<", "&lt;")}</pre></body></html>')
    assert check_site.page_report(dom) == payload
    with pytest.raises(check_site.SiteCheckFailed, match="never reported"):
        check_site.page_report("<html><body></body></html>")


# -- strict builds (slow: mkdocs from the docs extra) ---------------------------------------------------


def mkdocs_or_skip():
    try:
        import material  # noqa: F401
        import mkdocs  # noqa: F401
    except ImportError:
        if os.environ.get("CI"):
            raise  # .ci/run installs the docs extra before the slow tests: missing there is a failure
        pytest.skip("the docs extra is not installed: pip install -e '.[docs]' -c constraints.txt")


def small_site(tmp_path: Path, page: str, nav_extra: str = "") -> Path:
    """A copy of mkdocs.yml's set-up over a one-page docs folder inside a made-up repository."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "module.py").write_text("x = 1\n")
    (tmp_path / "README.md").write_text("# Home\n\nSee [the page](docs/page.md) and [`pkg/`](pkg/).\n")
    (tmp_path / "docs" / "index.md").write_text("# Home\n")
    (tmp_path / "docs" / "page.md").write_text(page)
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    nav = "nav:\n  - Home: index.md\n  - Page: page.md\n" + nav_extra + "\n"
    config = re.sub(r"\nnav:\n.*?\n\n", "\n" + nav, config, flags=re.S)
    config = config.replace("  - tools/mkdocs_hooks.py", f"  - {ROOT / 'tools' / 'mkdocs_hooks.py'}")
    config = config.replace("  - javascripts/mathjax-config.js\n", "")
    (tmp_path / "mkdocs.yml").write_text(config)
    return tmp_path / "mkdocs.yml"


@pytest.mark.slow
def test_strict_build_serves_repository_files_and_rewrites_the_readme_links(tmp_path):
    mkdocs_or_skip()
    config = small_site(tmp_path, "# Page\n\n$$x^2$$\n\nCode: [`module.py`](../pkg/module.py).\n")
    check_site.build_site(tmp_path / "site", config)
    assert (tmp_path / "site" / "source" / "pkg" / "module.py").read_text() == "x = 1\n"
    assert (tmp_path / "site" / "javascripts" / "mathjax" / "tex-svg.js").stat().st_size > 1_000_000
    page = (tmp_path / "site" / "page" / "index.html").read_text()
    assert 'href="../source/pkg/module.py"' in page and 'class="arithmatex"' in page
    home = (tmp_path / "site" / "index.html").read_text()
    assert 'href="page/"' in home and 'href="source/pkg/"' in home, "README's links were not rewritten"


@pytest.mark.slow
@pytest.mark.parametrize("page, nav_extra, expected", [
    ("# Page\n\n[gone](missing.md)\n", "", "missing.md"),
    ("# Page\n\n[gone](../pkg/missing.py)\n", "", "missing.py"),
    ("# Page\n", "  - Other: other.md\n", "other.md"),
])
def test_strict_build_fails_on_a_broken_link_or_a_missing_page(tmp_path, page, nav_extra, expected):
    mkdocs_or_skip()
    config = small_site(tmp_path, page, nav_extra)
    with pytest.raises(check_site.SiteCheckFailed, match=re.escape(expected)):
        check_site.build_site(tmp_path / "site", config)


@pytest.mark.slow
def test_strict_build_fails_on_a_page_left_out_of_the_nav(tmp_path):
    mkdocs_or_skip()
    config = small_site(tmp_path, "# Page\n")
    (tmp_path / "docs" / "orphan.md").write_text("# Orphan\n")
    with pytest.raises(check_site.SiteCheckFailed, match="orphan.md"):
        check_site.build_site(tmp_path / "site", config)

