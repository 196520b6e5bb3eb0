"""Build the docs site strictly and check, in headless Chromium, that its formulas and figures render.

    python tools/check_site.py                  # build into a temporary folder, check depth and clipping
    python tools/check_site.py --pages depth clipping recurrence --screenshots out/

Steps, each of which fails the run (exit status 1) with a line saying what is wrong:

1. ``mkdocs build --strict``: a broken link, a missing page or a page left out of the nav fails.
2. The built site is served on 127.0.0.1 (a free port), with a small script added to every HTML page
   that waits for the page's load and for MathJax, then writes a report into the DOM: for each
   formula (``.arithmatex``) whether MathJax turned it into SVG with glyphs, its size, whether
   MathJax flagged an error, and whether raw TeX (``\\(``, ``\\[``) is left in it; for each figure
   (``<img>`` in the article) whether it loaded (``naturalWidth > 0``), and their boxes on the page.
3. For each page: ``chromium --headless --dump-dom`` reads that report; every formula must be
   rendered and every figure loaded, and the page must have at least one of each.
4. ``chromium --headless --screenshot`` of the same page, tall enough for the whole article; the
   screenshot must not be blank (standard deviation of its grey levels), and neither may the crop of
   each formula's and each figure's box (a formula drawn as nothing, or an image that decoded to one
   colour, is caught there).

Chromium is Debian's (``apt-get install chromium``), run as the machine's docs advise for a closed
network: ``--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
--disable-background-networking --disable-component-update --disable-sync`` and a fresh
``--user-data-dir``.  Nothing is fetched from outside: MathJax is served from the site.
"""

from __future__ import annotations

import argparse
import functools
import html
import http.server
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PAGES = ("depth", "clipping")
WIDTH = 1280
MAX_HEIGHT = 16000
VIRTUAL_TIME_MS = 15000  # virtual time Chromium gives the page (scripts, images, MathJax) before it reads it
MIN_PAGE_STD = 8.0  # grey-level standard deviation (0..255) below which a screenshot counts as blank
MIN_CROP_STD = 4.0  # the same for one formula's or one figure's box
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars", "--force-device-scale-factor=1")

REPORT_ID = "site-check-report"
REPORT_SCRIPT = """
<script>
(function () {
  function box(e) { const r = e.getBoundingClientRect();
    return [r.left + window.scrollX, r.top + window.scrollY, r.width, r.height]; }
  function rawTex(e) { const c = e.cloneNode(true);
    c.querySelectorAll("mjx-container").forEach(function (m) { m.remove(); });
    return /\\\\[\\(\\)\\[\\]]|\\$\\$/.test(c.textContent); }
  function report() {
    const formulas = Array.from(document.querySelectorAll(".arithmatex")).map(function (e) {
      const m = e.querySelector("mjx-container");
      return { tex: e.textContent.slice(0, 80), rendered: !!(m && m.querySelector("svg")),
               glyphs: m ? m.querySelectorAll("svg use, svg path").length : 0,
               error: !!e.querySelector("mjx-merror, [data-mjx-error]"), raw_tex: rawTex(e),
               box: box(m || e) };
    });
    const images = Array.from(document.querySelectorAll("article img")).map(function (i) {
      return { src: i.getAttribute("src"), loaded: i.complete && i.naturalWidth > 0,
               natural: [i.naturalWidth, i.naturalHeight], box: box(i) };
    });
    const out = document.createElement("pre");
    out.id = "%(id)s"; out.hidden = true;
    out.textContent = JSON.stringify({ mathjax: !!(window.MathJax && window.MathJax.version),
      formulas: formulas, images: images, height: document.documentElement.scrollHeight });
    document.body.appendChild(out);
  }
  window.addEventListener("load", function () {
    const ready = window.MathJax && window.MathJax.startup && window.MathJax.startup.promise;
    (ready || Promise.resolve()).then(report, report);
  });
})();
</script>
""" % {"id": REPORT_ID}


class SiteCheckFailed(Exception):
    pass


# -- building and serving ----------------------------------------------------------------------


def build_site(site_dir: Path, config: Path = ROOT / "mkdocs.yml") -> None:
    """mkdocs build --strict into site_dir; raises SiteCheckFailed with mkdocs's warnings."""
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--clean",  # no -q: it hides the warnings --strict counts
                           "-f", str(config), "-d", str(site_dir)],
                          cwd=config.parent, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SiteCheckFailed(f"mkdocs build --strict failed (exit {done.returncode}):\n{done.stdout}{done.stderr}")


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves the site, adding REPORT_SCRIPT to every HTML page."""

    def send_head(self):
        path = Path(self.translate_path(self.path))
        if path.is_dir():
            path = path / "index.html"
        if path.suffix != ".html" or not path.is_file():
            return super().send_head()
        body = path.read_text(encoding="utf-8").replace("</body>", REPORT_SCRIPT + "</body>", 1).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return io.BytesIO(body)

    def log_message(self, *args):  # quiet
        pass


class SiteServer:
    """The site on http://127.0.0.1:<free port>/ in a background thread (a context manager)."""

    def __init__(self, site_dir: Path):
        handler = functools.partial(_Handler, directory=str(site_dir))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"

    def __enter__(self):
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


# -- Chromium ------------------------------------------------------------------------------------


def find_chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    raise SiteCheckFailed("no chromium on PATH: apt-get install -y chromium (Debian's package)")


def run_chromium(chromium: str, url: str, *extra: str, height: int = 2000, timeout: float = 120) -> str:
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        done = subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                               f"--window-size={WIDTH},{height}", f"--virtual-time-budget={VIRTUAL_TIME_MS}",
                               *extra, url], capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise SiteCheckFailed(f"chromium exited {done.returncode} on {url}:\n{done.stderr[-2000:]}")
    return done.stdout


def page_report(dom: str) -> dict:
    """The report REPORT_SCRIPT wrote into a dumped DOM."""
    found = re.search(rf'<pre id="{REPORT_ID}"[^>]*>(.*?)</pre>', dom, flags=re.S)
    if found is None:
        raise SiteCheckFailed("the page never reported (its load event or MathJax never finished within "
                              f"{VIRTUAL_TIME_MS} ms of virtual time)")
    return json.loads(html.unescape(found.group(1)))


def report_problems(report: dict) -> list[str]:
    """What is wrong with a page's formulas and figures, one line each (empty: nothing)."""
    problems = []
    if not report["mathjax"]:
        problems.append("MathJax did not load (javascripts/mathjax/tex-svg.js missing from the site?)")
    if not report["formulas"]:
        problems.append("the page has no formula (.arithmatex): nothing to check")
    if not report["images"]:
        problems.append("the page has no figure (<img> in the article): nothing to check")
    for f in report["formulas"]:
        what = f"formula {f['tex'].strip()[:60]!r}"
        if f["raw_tex"]:
            problems.append(f"{what} is shown as raw TeX")
        if f["error"]:
            problems.append(f"{what}: MathJax reports a TeX error")
        if not f["rendered"] or f["glyphs"] == 0:
            problems.append(f"{what} was not rendered to SVG glyphs")
        elif f["box"][2] < 1 or f["box"][3] < 1:
            problems.append(f"{what} rendered with an empty box {f['box'][2]:.0f}×{f['box'][3]:.0f} px")
    for i in report["images"]:
        if not i["loaded"]:
            problems.append(f"figure {i['src']} did not load")
    return problems


# -- pixels --------------------------------------------------------------------------------------


def grey_levels(png: Path) -> np.ndarray:
    """A PNG as grey levels 0..255, shape (height, width)."""
    from PIL import Image  # Pillow: installed with matplotlib (the dev extra)

    with Image.open(png) as image:
        return np.asarray(image.convert("L"), dtype=np.float64)


def blank_problems(grey: np.ndarray, report: dict) -> list[str]:
    """The whole screenshot, and each formula's and figure's box in it, must show something."""
    problems = []
    if grey.std() < MIN_PAGE_STD:
        problems.append(f"the screenshot is blank: grey-level std {grey.std():.2f} < {MIN_PAGE_STD}")
    boxes = [(f"formula {f['tex'].strip()[:40]!r}", f["box"]) for f in report["formulas"]]
    boxes += [(f"figure {i['src']}", i["box"]) for i in report["images"]]
    for what, (x, y, w, h) in boxes:
        crop = grey[max(int(y), 0):int(y + h), max(int(x), 0):int(x + w)]
        if crop.size == 0:
            problems.append(f"{what} lies outside the screenshot (box {x:.0f},{y:.0f} {w:.0f}×{h:.0f})")
        elif crop.std() < MIN_CROP_STD:
            problems.append(f"{what} is blank in the screenshot: grey-level std {crop.std():.2f} < {MIN_CROP_STD}")
    return problems


# -- the check ---------------------------------------------------------------------------------------


def check_page(chromium: str, base_url: str, page: str, screenshots: Path) -> tuple[list[str], dict]:
    url = f"{base_url}{page}/"
    report = page_report(run_chromium(chromium, url, "--dump-dom"))
    problems = report_problems(report)
    height = min(max(int(report["height"]) + 50, 800), MAX_HEIGHT)
    png = screenshots / f"{page}.png"
    run_chromium(chromium, url, f"--screenshot={png}", height=height)
    if not png.is_file():
        return problems + [f"chromium wrote no screenshot to {png}"], report
    return problems + blank_problems(grey_levels(png), report), report


def check_site(pages=DEFAULT_PAGES, screenshots: Path | None = None, site_dir: Path | None = None) -> list[str]:
    """Build and check; returns the problems found (empty: the site is fine)."""
    chromium = find_chromium()
    with tempfile.TemporaryDirectory(prefix="site-check-") as tmp:
        site = site_dir or Path(tmp) / "site"
        shots = screenshots or Path(tmp) / "screenshots"
        shots.mkdir(parents=True, exist_ok=True)
        build_site(site)
        problems = []
        with SiteServer(site) as server:
            for page in pages:
                found, report = check_page(chromium, server.url, page, shots)
                problems += [f"{page}: {p}" for p in found]
                print(f"{page}: {len(report['formulas'])} formulas, {len(report['images'])} figures, "
                      f"{'OK' if not found else f'{len(found)} problems'}; screenshot {shots / (page + '.png')}")
        return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", nargs="+", default=list(DEFAULT_PAGES), help="pages to check (default: %(default)s)")
    parser.add_argument("--screenshots", type=Path, help="keep the screenshots in this folder")
    parser.add_argument("--site-dir", type=Path, help="build the site here (default: a temporary folder)")
    args = parser.parse_args(argv)
    try:
        problems = check_site(args.pages, args.screenshots, args.site_dir)
    except SiteCheckFailed as failure:
        print(f"check_site: {failure}", file=sys.stderr)
        return 1
    for p in problems:
        print(f"check_site: {p}", file=sys.stderr)
    print("check_site: " + ("OK" if not problems else f"{len(problems)} problems"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
