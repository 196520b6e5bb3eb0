"""Regenerate the generated documentation: docs/claims.md and the figures.

    python tools/make_docs.py            # all of them
    python tools/make_docs.py --claims   # the catalogue page only (fast, no matplotlib)
    python tools/make_docs.py --gallery  # the gallery of wrong implementations only (runs their claims)
    python tools/make_docs.py --libraries  # docs/libraries.md only, from the committed docs/reports/*.json
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from spec_tests.docs import CLAIMS_PAGE, GALLERY_PAGE, render_claims_page  # noqa: E402
from spec_tests.report import render_libraries_page  # noqa: E402

# docs/libraries.md, generated from one report per implementation:
# gradspec --impl NAME --report-json docs/reports/NAME.json (GRADSPEC_PROFILE=ci)
REPORTS_DIR = CLAIMS_PAGE.parent / "reports"
LIBRARIES_PAGE = CLAIMS_PAGE.parent / "libraries.md"


def read_reports(folder: Path) -> dict:
    import json

    return {path.stem: json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--claims", action="store_true", help="only docs/claims.md")
    parser.add_argument("--gallery", action="store_true", help="only docs/gallery.md")
    parser.add_argument("--libraries", action="store_true", help="only docs/libraries.md (from docs/reports/*.json)")
    args = parser.parse_args()
    if args.libraries:
        LIBRARIES_PAGE.write_text(render_libraries_page(read_reports(REPORTS_DIR)))
        print(f"wrote {LIBRARIES_PAGE}")
        if not (args.claims or args.gallery):
            return
    if not args.gallery:
        CLAIMS_PAGE.write_text(render_claims_page())
        print(f"wrote {CLAIMS_PAGE}")
    if not args.claims:
        from spec_tests.verdicts import render_gallery_page

        GALLERY_PAGE.write_text(render_gallery_page())
        print(f"wrote {GALLERY_PAGE}")
    if not (args.claims or args.gallery):
        import make_figures

        for path in make_figures.main():
            print(f"wrote {path}")


if __name__ == "__main__":
    main()
