"""What the plugin declares about itself (identity, routes), read from its manifest and YAML files."""

from __future__ import annotations

import functools
from pathlib import Path

import yaml
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule

PLUGIN_ROOT = Path(__file__).resolve().parent.parent
CATCH_ALL = "/<path:rest>"  # the fallback; "/v1/<path:rest>" is the OpenAI API's own
FALLBACK_SOURCE = "endpoints/fallback.py"  # also serves "/", which the catch-all cannot match


def load(relative: str) -> dict:
    return yaml.safe_load((PLUGIN_ROOT / relative).read_text()) or {}


def plugin_identity() -> tuple[str, str]:
    """The plugin's name and version, from manifest.yaml."""
    manifest = load("manifest.yaml")
    return str(manifest.get("name", "")), str(manifest.get("version", ""))


@functools.cache
def declared_routes() -> Map:
    """Every declared (path, method) except the fallback's rules (the catch-all and "/")."""
    rules = []
    for group_path in load("manifest.yaml")["plugins"]["endpoints"]:
        for spec_path in load(group_path)["endpoints"]:
            spec = load(spec_path)
            if not spec["path"].endswith(CATCH_ALL) and spec["extra"]["python"]["source"] != FALLBACK_SOURCE:
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
