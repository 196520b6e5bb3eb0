"""Regenerate the generated documentation: docs/claims.md and the figures.

    python tools/make_docs.py            # all of them
    python tools/make_docs.py --claims   # the catalogue page only (fast, no matplotlib)
    python tools/make_docs.py --gallery  # the gallery of wrong implementations only (runs their claims)
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from spec_tests.docs import CLAIMS_PAGE, GALLERY_PAGE, render_claims_page  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--claims", action="store_true", help="only docs/claims.md")
    parser.add_argument("--gallery", action="store_true", help="only docs/gallery.md")
    args = parser.parse_args()
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
