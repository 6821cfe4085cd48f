"""`devkit endpoint add`: one more route in a plugin, rendered from the template's own snippets.

`template/_snippets/` holds the spec, handler and test of each route kind (and the settings they
read); the template's per-route files include them, and this renders the same files for any name,
method and path, then registers the spec and declares the settings the route needs.
"""

from __future__ import annotations

import re
from pathlib import Path

import jinja2
import yaml
from werkzeug.routing import Map, Rule

from devkit.plugin_template import ANSWERS, AUTHS, TemplateError, template_source

KINDS = ("app", "webhook", "form")
METHODS = ("POST", "PUT", "DELETE")  # every kind reads a body; the daemon also routes GET (bodiless)
_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
_SNIPPETS = "template/_snippets"


def add_endpoint(
    plugin: Path,
    name: str,
    method: str,
    path: str,
    kind: str = "webhook",
    auth: str | None = None,
    template: str | None = None,
) -> list[Path]:
    """Write endpoints/<name>.yaml, endpoints/<name>.py and tests/test_<name>.py, register the spec in
    the provider YAML and declare the settings it reads there; returns the files written."""
    method = method.upper()
    auth = auth or _plugin_auth(plugin)
    if not _NAME.fullmatch(name):
        raise TemplateError(f"{name!r} is not an endpoint name: use lower-case letters, digits and _, e.g. order_paid")
    if kind not in KINDS:
        raise TemplateError(f"unknown kind {kind!r}; choose from {', '.join(KINDS)}")
    if auth not in AUTHS:
        raise TemplateError(f"unknown auth {auth!r}; choose from {', '.join(AUTHS)}")
    if method not in METHODS:
        raise TemplateError(f"a {kind} route reads a request body: use --method {', '.join(METHODS)}, not {method}")
    _check_rule(path)
    provider = _provider_file(plugin)
    files = [
        plugin / "endpoints" / f"{name}.yaml",
        plugin / "endpoints" / f"{name}.py",
        plugin / "tests" / f"test_{name}.py",
    ]
    taken = [str(f.relative_to(plugin)) for f in files if f.exists()]
    if taken:
        raise TemplateError(f"an endpoint named {name} already exists: {', '.join(taken)}")
    for spec in _specs(plugin, provider):
        if str(spec.get("method", "")).upper() == method and _shape(str(spec.get("path", ""))) == _shape(path):
            raise TemplateError(f"{method} {path} is already routed by {spec['_file']} ({method} {spec['path']})")

    env = _environment(template)
    route = {"name": name, "method": method, "path": path, "kind": kind, "auth": auth}
    for file, snippet in zip(files, ("spec.yaml.jinja", "handler.py.jinja", "test.py.jinja"), strict=True):
        file.parent.mkdir(exist_ok=True)
        file.write_text(env.get_template(f"{_SNIPPETS}/{snippet}").render(route=route))
    _declare_settings(provider, env, _settings_needed(kind, auth))
    if kind == "app":
        _allow_app_calls(plugin / "manifest.yaml")
    _register(provider, f"endpoints/{name}.yaml")
    return files


def _environment(template: str | None) -> jinja2.Environment:
    """Jinja as copier configures it for this template (copier.yml's _envops, the same filters)."""
    source = template_source(template)
    if not (Path(source) / _SNIPPETS).is_dir():
        raise TemplateError(f"{source} has no {_SNIPPETS}/: pass --template <path of a checkout of the template>")
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(source),
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
        extensions=["jinja2_ansible_filters.AnsibleCoreFiltersExtension"],
    )


def _plugin_auth(plugin: Path) -> str:
    answers = plugin / ANSWERS
    return (yaml.safe_load(answers.read_text()) or {}).get("auth", "key") if answers.is_file() else "key"


def _check_rule(path: str) -> None:
    try:
        Map([Rule(path, endpoint="x")]).bind("localhost")
    except (ValueError, AssertionError) as e:
        raise TemplateError(f"{path!r} is not a route path (a werkzeug rule such as /orders/<order_id>): {e}") from None


def _shape(path: str) -> str:
    """A rule without its variable names: /a/<x> and /a/<int:y> match the same requests."""
    return re.sub(r"<[^>]*>", "<>", path.rstrip("/") or "/")


def _provider_file(plugin: Path) -> Path:
    manifest_file = plugin / "manifest.yaml"
    if not manifest_file.is_file():
        raise TemplateError(f"{plugin} has no manifest.yaml; is it a Dify plugin folder?")
    groups = ((yaml.safe_load(manifest_file.read_text()) or {}).get("plugins") or {}).get("endpoints") or []
    if not groups:
        raise TemplateError("manifest.yaml lists no endpoint group under plugins.endpoints")
    return plugin / groups[0]


def _specs(plugin: Path, provider: Path) -> list[dict]:
    specs = []
    for relative in (yaml.safe_load(provider.read_text()) or {}).get("endpoints") or []:
        file = plugin / relative
        if file.is_file():
            specs.append({**(yaml.safe_load(file.read_text()) or {}), "_file": relative})
    return specs


def _settings_needed(kind: str, auth: str) -> list[str]:
    needed = {"key": ["api_key"], "signature": ["webhook_sender", "webhook_secret"], "none": []}[auth]
    return [*needed, "app"] if kind == "app" else needed


def _declare_settings(provider: Path, env: jinja2.Environment, names: list[str]) -> None:
    """Add the settings the route reads that the provider YAML does not declare yet, before `endpoints:`."""
    declared = {s.get("name") for s in (yaml.safe_load(provider.read_text()) or {}).get("settings") or []}
    missing = [n for n in names if n not in declared]
    if not missing:
        return
    blocks = [env.get_template(f"{_SNIPPETS}/settings/{n}.yaml.jinja").render().strip() for n in missing]
    text = provider.read_text().replace("settings: []\n", "settings:\n", 1)
    lines = text.splitlines()
    at = next((i for i, line in enumerate(lines) if line.startswith("endpoints:")), None)
    if at is None or not any(line.startswith("settings:") for line in lines):
        raise TemplateError(f"{provider.name} has no top-level settings: and endpoints: lists to add to")
    lines[at:at] = "\n".join(blocks).splitlines()
    provider.write_text("\n".join(lines) + "\n")


def _allow_app_calls(manifest: Path) -> None:
    """An app route calls Dify apps: the manifest must ask for the app permission (the daemon refuses
    the reverse call otherwise)."""
    text = manifest.read_text()
    if ((yaml.safe_load(text).get("resource") or {}).get("permission") or {}).get("app", {}).get("enabled"):
        return
    anchor = "    endpoint:\n      enabled: true\n"
    if anchor not in text:
        raise TemplateError(
            "add `app: {enabled: true}` under resource.permission in manifest.yaml: an app route calls apps"
        )
    manifest.write_text(text.replace(anchor, anchor + "    app:\n      enabled: true\n", 1))


def _register(provider: Path, spec: str) -> None:
    """Add one line to the provider's `endpoints:` list, keeping the file's own text and comments."""
    lines = provider.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("endpoints:"))
    end = start + 1
    while end < len(lines) and (lines[end].startswith((" ", "-")) or not lines[end].strip()):
        end += 1
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1
    indent = re.match(r"\s*", lines[start + 1]).group() if end > start + 1 else ""
    lines.insert(end, f"{indent}- {spec}")
    provider.write_text("\n".join(lines) + "\n")
