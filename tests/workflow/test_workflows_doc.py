"""docs/workflows.md stays true: the make targets and tools it names exist, and its spec snippets are valid."""

from __future__ import annotations

import re

import yaml
from workflow_helpers import ROOT

DOC = ROOT / "docs" / "workflows.md"


def test_documented_make_targets_exist() -> None:
    text = DOC.read_text(encoding="utf-8")
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([a-z][a-z-]*):", makefile, flags=re.MULTILINE))
    documented = set(re.findall(r"`?make ([a-z][a-z-]+)", text))
    assert {"generate", "check-generated", "spec-diff", "vendor", "wheel"} <= documented
    assert documented <= targets, f"documented but not in the Makefile: {sorted(documented - targets)}"


def test_documented_tools_exist() -> None:
    text = DOC.read_text(encoding="utf-8")
    named = set(re.findall(r"(?:tools|tests/workflow)/[a-z_]+\.py", text))
    assert {"tools/spec_diff.py", "tools/vendor.py"} <= named  # the regex finds what the doc names
    missing = sorted(path for path in named if not (ROOT / path).is_file())
    assert missing == [], missing


def test_walkthrough_yaml_snippets_parse() -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.DOTALL)
    assert len(blocks) >= 3
    for block in blocks:
        assert isinstance(yaml.safe_load(block), dict)
