# Copied from overlays/_install.py by `make generate`. Do not edit here: edit overlays/_install.py.
"""Install hints worded for the copy of the package that is running.

In the standx-client distribution an optional dependency is an extra (`pip install 'standx-client[ws]'`); in a
vendored copy (`make vendor`: a VENDORED.json stamp beside this file, or another package name) there is no
such distribution to install, so the hint names the requirements themselves.
"""

from __future__ import annotations

from pathlib import Path

from ._spec_info import DISTRIBUTION, EXTRAS

PACKAGE = __name__.rpartition(".")[0]  # "standx_client", or e.g. "mybot._vendor.standx_client"
VENDORED = PACKAGE != "standx_client" or (Path(__file__).parent / "VENDORED.json").is_file()


def install_hint(extra: str) -> str:
    """The pip command that provides an extra's dependencies to this copy of the package."""
    if not VENDORED:
        return f"pip install '{DISTRIBUTION}[{extra}]'"
    requirements = " ".join(f"'{r}'" for r in EXTRAS.get(extra, ()))
    return f"pip install {requirements} (the [{extra}] extra of {DISTRIBUTION}, vendored here as {PACKAGE})"
