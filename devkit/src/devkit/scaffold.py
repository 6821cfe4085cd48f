"""Start a new endpoint plugin from Duck, and add endpoints to a plugin.

`new` copies Duck's own files (this checkout is the template), renames the identity and keeps only the
chosen routes; the new plugin carries the dev kit and its own tests, so it builds and tests at once.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import yaml

TEMPLATE = Path(__file__).resolve().parents[3]  # the Duck checkout this dev kit is installed from (-e)
ROUTES = {  # route choice -> the endpoint module that serves it
    "chat": "chat_messages",
    "workflow": "workflows_run",
    "completion": "completion_messages",
    "run": "run",
    "parameters": "parameters",
    "duck": "duck",
}
ALWAYS = ["health", "fallback"]
COPIED = [
    "main.py",
    "requirements.txt",
    "requirements-dev.txt",
    "Makefile",
    "pytest.ini",
    ".python-version",
    ".difyignore",
    ".env.example",
    ".gitignore",
    ".ci/run",
    "duck",
    "endpoint_kit",  # the library Duck is built on
    "devkit",
]
COPIED_TESTS = [
    "conftest.py",
    "test_settings.py",
    "test_auth.py",
    "test_models.py",
    "test_manifest.py",
]
_NAME = re.compile(r"[a-z][a-z0-9_-]{0,63}")
_ENDPOINT_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")


class ScaffoldError(Exception):
    pass


def new_plugin(name: str, into: Path, routes: list[str], author: str = "me", description: str = "") -> Path:
    """Create `into/name` as a new plugin with the given Duck routes; returns its folder."""
    if not _NAME.fullmatch(name):
        raise ScaffoldError(f"{name!r} is not a plugin name: use lowercase letters, digits, '-' or '_'")
    unknown = sorted(set(routes) - set(ROUTES))
    if unknown:
        raise ScaffoldError(f"unknown route(s) {', '.join(unknown)}; choose from {', '.join(ROUTES)}")
    target = into / name
    if target.exists():
        raise ScaffoldError(f"{target} already exists")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build")
    for item in COPIED:
        source = TEMPLATE / item
        (target / item).parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target / item, ignore=ignore)
        else:
            shutil.copy2(source, target / item)
    (target / "tests").mkdir()
    for test in COPIED_TESTS:
        shutil.copy2(TEMPLATE / "tests" / test, target / "tests" / test)
    title = name.replace("-", " ").replace("_", " ").title()
    description = description or f"{title}: Dify app endpoints, started from Duck."
    modules = [ROUTES[r] for r in routes] + ALWAYS
    _write_endpoints(target, modules)
    _write_group(target, name, modules)
    _write_manifest(target, name, author, title, description)
    _write_icon(target, title)
    (target / "PRIVACY.md").write_text(
        f"# Privacy\n\n{title} stores no personal data of the callers it serves beyond what its routes document.\n"
    )
    (target / "README.md").write_text(_readme(name, title, description, routes))
    (target / "tests" / "test_routes.py").write_text(_route_tests(routes))
    return target


def add_endpoint(plugin_dir: Path, name: str, method: str, path: str) -> list[Path]:
    """Add endpoints/<name>.yaml, endpoints/<name>.py and tests/test_<name>.py; register the spec."""
    method = method.upper()
    if not _ENDPOINT_NAME.fullmatch(name):
        raise ScaffoldError(f"{name!r} is not an endpoint name: use lowercase letters, digits and '_'")
    if method not in ("GET", "POST", "PUT", "DELETE"):
        raise ScaffoldError(f"{method} is not routed by the Dify daemon; use GET, POST, PUT or DELETE")
    if not path.startswith("/") or " " in path:
        raise ScaffoldError(f"{path!r} is not a route path; it starts with '/', e.g. /hello/<name>")
    manifest = yaml.safe_load((plugin_dir / "manifest.yaml").read_text())
    group = plugin_dir / manifest["plugins"]["endpoints"][0]
    created = [
        plugin_dir / "endpoints" / f"{name}.yaml",
        plugin_dir / "endpoints" / f"{name}.py",
        plugin_dir / "tests" / f"test_{name}.py",
    ]
    existing = [str(p) for p in created if p.exists()]
    if existing:
        raise ScaffoldError(f"already exists: {', '.join(existing)}")
    created[0].write_text(_spec(path, method, name))
    created[1].write_text(_handler(name, method, path))
    created[2].write_text(_endpoint_test(name, method, path))
    _register(group, f"endpoints/{name}.yaml")
    return created


def _write_endpoints(target: Path, modules: list[str]) -> None:
    (target / "endpoints").mkdir()
    for module in modules:
        for file in sorted((TEMPLATE / "endpoints").glob(f"{module}*")):
            if file.stem == module or (module == "fallback" and file.stem.startswith("fallback_")):
                shutil.copy2(file, target / "endpoints" / file.name)


def _spec_files(target: Path) -> list[str]:
    return sorted(f"endpoints/{p.name}" for p in (target / "endpoints").glob("*.yaml"))


def _write_group(target: Path, name: str, modules: list[str]) -> None:
    settings = yaml.safe_load((TEMPLATE / "provider" / "duck.yaml").read_text())["settings"]
    specs = sorted(_spec_files(target), key=lambda s: "fallback" in s)  # the catch-all last, for readers
    (target / "provider").mkdir()
    (target / "provider" / f"{name}.yaml").write_text(
        yaml.safe_dump({"settings": settings, "endpoints": specs}, allow_unicode=True, sort_keys=False)
    )


def _write_manifest(target: Path, name: str, author: str, title: str, description: str) -> None:
    manifest = yaml.safe_load((TEMPLATE / "manifest.yaml").read_text())
    languages = ("en_US", "zh_Hans", "ja_JP", "pt_BR")
    manifest.update(
        name=name,
        author=re.sub(r"[^a-z0-9_-]", "-", author.lower())[:64] or "me",
        version="0.0.1",
        label={lang: title for lang in languages},
        description={lang: description for lang in languages},
    )
    manifest["plugins"]["endpoints"] = [f"provider/{name}.yaml"]
    (target / "manifest.yaml").write_text(yaml.safe_dump(manifest, allow_unicode=True, sort_keys=False))


def _write_icon(target: Path, title: str) -> None:
    (target / "_assets").mkdir()
    (target / "_assets" / "icon.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" width="64" height="64">'
        '<rect width="64" height="64" rx="14" fill="#6b7280"/>'
        f'<text x="32" y="42" font-size="30" text-anchor="middle" fill="#fff" font-family="sans-serif">'
        f"{title[:1]}</text></svg>\n"
    )


def _register(group: Path, spec: str) -> None:
    """Add one line to the group's `endpoints:` list, keeping the file's own text and comments."""
    lines = group.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("endpoints:"))
    end = start + 1
    while end < len(lines) and (lines[end].startswith((" ", "-")) or not lines[end].strip()):
        end += 1
    lines.insert(end, f"- {spec}" if end > start + 1 and lines[start + 1].startswith("-") else f"  - {spec}")
    group.write_text("\n".join(lines) + "\n")


def _class_name(name: str) -> str:
    return "".join(part.title() for part in name.split("_"))


def _variables(path: str) -> list[str]:
    return [v.split(":")[-1] for v in re.findall(r"<([^>]+)>", path)]


def _example_path(path: str) -> str:
    return re.sub(r"<[^>]+>", "x", path)


def _spec(path: str, method: str, name: str) -> str:
    return f'path: "{path}"\nmethod: "{method}"\nextra:\n  python:\n    source: "endpoints/{name}.py"\n'


def _handler(name: str, method: str, path: str) -> str:
    return f'''from dify_plugin import Endpoint

import duck


class {_class_name(name)}(Endpoint):
    """{method} {path}: say what this route does."""

    @duck.handler
    def _invoke(self, r, values, settings):
        return duck.json_response({{"route": "{name}", "values": dict(values)}})
'''


def _endpoint_test(name: str, method: str, path: str) -> str:
    values = {v: "x" for v in _variables(path)}
    return f'''import json


def test_{name}_answers(call):
    reply = call("{method}", "{_example_path(path)}")
    assert reply.status == 200
    assert json.loads(reply.body) == {{"route": "{name}", "values": {values!r}}}


def test_{name}_needs_the_key(call):
    reply = call("{method}", "{_example_path(path)}", headers={{"Authorization": "Bearer wrong"}})
    assert reply.status == 401
'''


def _route_tests(routes: list[str]) -> str:
    checks = {
        "chat": ('"POST", "/apps/demo-chat/chat-messages", {"query": "hi", "response_mode": "blocking"}', "answer"),
        "workflow": (
            '"POST", "/apps/demo-workflow/workflows/run", {"inputs": {"text": "hi"}, "response_mode": "blocking"}',
            "data",
        ),
        "completion": (
            '"POST", "/apps/demo-completion/completion-messages", {"inputs": {"text": "hi"}, '
            '"response_mode": "blocking"}',
            "answer",
        ),
        "run": ('"POST", "/apps/demo-chat/run", {"query": "hi", "response_mode": "blocking"}', "answer"),
        "parameters": ('"GET", "/apps/demo-chat/parameters"', "user_input_form"),
    }
    body = '"""The routes this plugin started with, through the SDK\'s real dispatch path."""\n\nimport json\n\n\n'
    body += (
        'def test_health(call):\n    reply = call("GET", "/health")\n'
        '    assert reply.status == 200 and json.loads(reply.body)["status"] == "ok"\n\n\n'
        'def test_unknown_route_is_json_404(call):\n    reply = call("GET", "/nothing")\n'
        '    assert reply.status == 404 and json.loads(reply.body)["code"] == "not_found"\n'
    )
    for route in routes:
        if route == "duck":
            body += (
                '\n\ndef test_duck(call):\n    reply = call("GET", "/duck/demo-chat?query=hi")\n'
                '    assert reply.status == 200 and reply.body.startswith(b"Hi there!")\n'
            )
        else:
            request, key = checks[route]
            body += (
                f"\n\ndef test_{route}(call):\n    reply = call({request})\n"
                f'    assert reply.status == 200 and "{key}" in json.loads(reply.body)\n'
            )
    return body


def _readme(name: str, title: str, description: str, routes: list[str]) -> str:
    return f"""# {title}

{description}

## Quick start

```sh
make serve      # sets up .venv, then serves the plugin on http://127.0.0.1:5002 against demo apps
make test       # runs the tests
```

Started from Duck with routes: {", ".join(routes) or "none"} (plus `/health`).
Add a route with `.venv/bin/python -m devkit endpoint add NAME --method GET --path /NAME`, check the
plugin with `.venv/bin/python -m devkit check`, and build `{name}-0.0.1.difypkg` with
`.venv/bin/python -m devkit package`.
"""
