# Copied from overlays/__main__.py by `make generate`. Do not edit here: edit overlays/__main__.py.
"""`python -m standx_client ...`: the `standx` command line (see `cli`)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
