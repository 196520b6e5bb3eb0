"""Regenerate the generated documentation: docs/claims.md and the figures.

    python tools/make_docs.py            # both
    python tools/make_docs.py --claims   # the catalogue page only (fast, no matplotlib)
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from spec_tests.docs import CLAIMS_PAGE, render_claims_page  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--claims", action="store_true", help="only docs/claims.md")
    args = parser.parse_args()
    CLAIMS_PAGE.write_text(render_claims_page())
    print(f"wrote {CLAIMS_PAGE}")
    if not args.claims:
        import make_figures

        for path in make_figures.main():
            print(f"wrote {path}")


if __name__ == "__main__":
    main()
