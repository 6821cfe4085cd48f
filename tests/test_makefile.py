"""The Makefile's promise: `make serve` installs only what serving needs."""

import shutil
import subprocess

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def planned(target: str, cwd) -> str:
    """What `make <target>` would run (dry run: nothing is installed or started)."""
    run = subprocess.run(["make", "-n", target, "PORT=0"], cwd=cwd, capture_output=True, text=True, timeout=30)
    assert run.returncode == 0, run.stderr
    return run.stdout


def test_serve_needs_no_browser_and_no_node_clients():
    plan = planned("serve", ROOT)
    assert "devkit serve" in plan
    assert not [word for word in ("apt-get", "chromium", "npm") if word in plan]
