"""`devkit endpoint add`: one more route in a plugin, rendered from the template's own snippets.

`template/_snippets/` holds the spec, handler and test of each route kind (and the settings they
read); the template's per-route files include them, and this renders the same files for any name,
method and path, then registers the spec and declares the settings the route needs. A plugin not made
with `devkit new` also gets the vendored library and the dev kit's test fixtures (tests/conftest.py).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import jinja2
import yaml
from werkzeug.routing import Map, Rule

from devkit.plugin_template import ANSWERS, AUTHS, LIBRARY, TemplateError, template_source

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

    source = _template_root(template)
    env = _environment(source)
    route = {"name": name, "method": method, "path": path, "kind": kind, "auth": auth}
    # Everything is rendered and checked before the first write: a refusal leaves the plugin as it was.
    texts = {
        file: env.get_template(f"{_SNIPPETS}/{snippet}").render(route=route)
        for file, snippet in zip(files, ("spec.yaml.jinja", "handler.py.jinja", "test.py.jinja"), strict=True)
    }
    group = _with_spec(
        _with_settings(provider.read_text(), env, _settings_needed(kind, auth)), f"endpoints/{name}.yaml"
    )
    _check_group(provider, group, f"endpoints/{name}.yaml")
    texts[provider] = group
    if kind == "app":
        texts[plugin / "manifest.yaml"] = _with_app_permission((plugin / "manifest.yaml").read_text())
    if not (plugin / "tests" / "conftest.py").exists():
        texts[plugin / "tests" / "conftest.py"] = (source / "template/tests/conftest.py").read_text()
    for file, text in texts.items():
        file.parent.mkdir(exist_ok=True)
        file.write_text(text)
    _vendor_library(plugin, source)
    return files


def _template_root(template: str | None) -> Path:
    source = Path(template_source(template))
    if not (source / _SNIPPETS).is_dir():
        raise TemplateError(f"{source} has no {_SNIPPETS}/: pass --template <path of a checkout of the template>")
    return source


def _environment(source: Path) -> jinja2.Environment:
    """Jinja as copier configures it for this template (copier.yml's _envops, the same filters)."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(source),
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
        extensions=["jinja2_ansible_filters.AnsibleCoreFiltersExtension"],
    )


def _mapping(file: Path) -> dict:
    """A YAML file of the plugin as a mapping; a broken one stops the command with its name, not a traceback."""
    try:
        data = yaml.safe_load(file.read_text()) or {}
    except yaml.YAMLError as e:
        raise TemplateError(f"{file} is not valid YAML ({str(e).splitlines()[0]}); fix it first") from None
    if not isinstance(data, dict):
        raise TemplateError(f"{file} is not a YAML mapping; fix it first")
    return data


def _plugin_auth(plugin: Path) -> str:
    answers = plugin / ANSWERS
    return _mapping(answers).get("auth", "key") if answers.is_file() else "key"


# A path is the URL's path only (no query or fragment), matched decoded (a %-escape in a rule never matches),
# and goes into the spec's YAML between double quotes.
_NOT_IN_A_PATH = re.compile(r'[?#%"\\\s\x00-\x1f\x7f]')


def _check_rule(path: str) -> None:
    not_a_path = f"{path!r} is not a route path (a werkzeug rule such as /orders/<order_id>)"
    if _NOT_IN_A_PATH.search(path):
        raise TemplateError(
            f"{not_a_path}: it may not hold ?, #, %, a quote, a backslash, spaces or control characters"
        )
    try:
        Map([Rule(path, endpoint="x")]).bind("localhost")
    except (ValueError, AssertionError, LookupError, SyntaxError) as e:  # werkzeug's: no slash, bad syntax,
        raise TemplateError(f"{not_a_path}: {e}") from None  # unknown converter, a variable named twice


def _shape(path: str) -> str:
    """A rule without its variable names: /a/<x> and /a/<int:y> match the same requests."""
    return re.sub(r"<[^>]*>", "<>", path.rstrip("/") or "/")


def _provider_file(plugin: Path) -> Path:
    manifest_file = plugin / "manifest.yaml"
    if not manifest_file.is_file():
        raise TemplateError(f"{plugin} has no manifest.yaml; is it a Dify plugin folder?")
    groups = (_mapping(manifest_file).get("plugins") or {}).get("endpoints") or []
    if not groups:
        raise TemplateError("manifest.yaml lists no endpoint group under plugins.endpoints")
    return plugin / groups[0]


def _specs(plugin: Path, provider: Path) -> list[dict]:
    specs = []
    for relative in _mapping(provider).get("endpoints") or []:
        file = plugin / relative
        if file.is_file():
            specs.append({**_mapping(file), "_file": relative})
    return specs


def _settings_needed(kind: str, auth: str) -> list[str]:
    needed = {"key": ["api_key"], "signature": ["webhook_sender", "webhook_secret"], "none": []}[auth]
    return [*needed, "app"] if kind == "app" else needed


def _with_settings(group: str, env: jinja2.Environment, names: list[str]) -> str:
    """The provider YAML with the settings the route reads that it does not declare yet, added at the end
    of its `settings:` list (indented as its other items), the rest of its text untouched."""
    declared = {s.get("name") for s in (yaml.safe_load(group) or {}).get("settings") or []}
    missing = [n for n in names if n not in declared]
    if not missing:
        return group
    lines = group.replace("settings: []\n", "settings:\n", 1).splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("settings:")), None)
    if start is None:
        lines[:0] = ["settings:"]
        start = 0
    end = _list_end(lines, start)
    first_item = next((line for line in lines[start + 1 : end] if line.lstrip().startswith("- ")), "- ")
    indent = first_item[: len(first_item) - len(first_item.lstrip())]
    for name in missing:
        block = env.get_template(f"{_SNIPPETS}/settings/{name}.yaml.jinja").render().strip().splitlines()
        lines[end:end] = [indent + line for line in block]
        end += len(block)
    return "\n".join(lines) + "\n"


def _with_spec(group: str, spec: str) -> str:
    """The provider YAML with `spec` added at the end of its `endpoints:` list, indented as its items."""
    lines = group.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("endpoints:")), None)
    if start is None:
        raise TemplateError("the provider YAML has no top-level endpoints: list to register the route in")
    end = _list_end(lines, start)
    items = [line for line in lines[start + 1 : end] if line.lstrip().startswith("- ")]
    indent = items[0][: len(items[0]) - len(items[0].lstrip())] if items else ""
    lines[end:end] = [f"{indent}- {spec}"]
    return "\n".join(lines) + "\n"


def _list_end(lines: list[str], start: int) -> int:
    """Where the block list under the top-level key at `start` ends (before trailing blank lines)."""
    end = start + 1
    while end < len(lines) and (lines[end].startswith((" ", "-", "#")) or not lines[end].strip()):
        end += 1
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1
    return end


def _check_group(provider: Path, text: str, spec: str) -> None:
    try:
        group = yaml.safe_load(text) or {}
    except yaml.YAMLError as e:
        raise TemplateError(
            f"{provider.name} would not be valid YAML after adding the route ({e}); add it by hand"
        ) from None
    if spec not in (group.get("endpoints") or []):
        raise TemplateError(
            f"{provider.name}: could not register {spec} in its endpoints: list; add it by hand"
        ) from None


def _with_app_permission(manifest: str) -> str:
    """An app route calls Dify apps: the manifest must ask for the app permission (the daemon refuses
    the reverse call otherwise: internal/core/io_tunnel/backwards_invocation/task.go, AllowInvokeApp)."""
    if ((yaml.safe_load(manifest).get("resource") or {}).get("permission") or {}).get("app", {}).get("enabled"):
        return manifest
    anchor = "    endpoint:\n      enabled: true\n"
    if anchor not in manifest:
        raise TemplateError(
            "add `app: {enabled: true}` under resource.permission in manifest.yaml: an app route calls apps"
        )
    return manifest.replace(anchor, anchor + "    app:\n      enabled: true\n", 1)


def _vendor_library(plugin: Path, source: Path) -> None:
    """A plugin not made with `devkit new` gets the library its new handler imports, and the library's
    requirements in its requirements.txt."""
    if (plugin / LIBRARY).is_dir():
        return
    shutil.copytree(source / LIBRARY, plugin / LIBRARY, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    requirements = plugin / "requirements.txt"
    have = requirements.read_text() if requirements.exists() else ""
    names = {re.split(r"[=<>!~ \[;]", line.strip())[0].lower() for line in have.splitlines()}
    needed = [
        line
        for line in (source / LIBRARY / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#") and re.split(r"[=<>!~ \[;]", line)[0].lower() not in names
    ]
    if needed:
        requirements.write_text(have + ("" if not have or have.endswith("\n") else "\n") + "\n".join(needed) + "\n")
