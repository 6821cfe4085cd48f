"""The routes this plugin declares, read from its endpoint group so there is one source of truth."""

from __future__ import annotations

import functools
from pathlib import Path

import yaml
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule

GROUP_FILE = Path(__file__).resolve().parent.parent / "provider" / "duck.yaml"
CATCH_ALL = "/<path:rest>"


@functools.cache
def declared_routes() -> Map:
    """Every declared (path, method) except the catch-all fallback rules."""
    group = yaml.safe_load(GROUP_FILE.read_text())
    rules = []
    for spec_path in group["endpoints"]:
        spec = yaml.safe_load((GROUP_FILE.parent.parent / spec_path).read_text())
        if spec["path"] != CATCH_ALL:
            rules.append(Rule(spec["path"], methods=[spec["method"]]))
    return Map(rules)


def allowed_methods(path: str) -> list[str]:
    """The methods declared for path; empty when no route has that path."""
    adapter = declared_routes().bind("duck")
    try:
        adapter.match(path, method="__probe__")
    except MethodNotAllowed as e:
        return sorted(e.valid_methods or [])
    except NotFound:
        return []
    return []
