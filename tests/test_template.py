"""The template cannot rot: every combination of its options renders a plugin that passes its own
tests, `devkit check` and ruff; `endpoint add` and `update` keep such a plugin working."""

import ast
import filecmp
import importlib.metadata
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from devkit import plugin_template
from devkit.endpoint_add import add_endpoint
from devkit.package import check
from devkit.plugin_template import ROUTES, TemplateError, devkit_requirement, library_drift, new_plugin

ROOT = Path(__file__).resolve().parent.parent
LIBRARY = ROOT / "endpoint_kit"
RUFF = Path(sys.executable).parent / "ruff"
ROUTE_SETS = [list(c) for n in range(1, len(ROUTES) + 1) for c in itertools.combinations(ROUTES, n)]
COMBINATIONS = [(routes, auth) for routes in ROUTE_SETS for auth in ("key", "signature", "none")]
GIT = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false"]
SETTINGS_FOR = {"key": {"api_key"}, "signature": {"webhook_sender", "webhook_secret"}, "none": set()}


# This venv holds Duck's pytest plugins too (hypothesis, schemathesis, ...): seconds of start-up per run that a
# plugin's own venv (pytest, ruff, the dev kit) does not have. Its conftest loads devkit.testing by name.
PLUGIN_PYTEST_ENV = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}


def run(*command, cwd=None, env=None, timeout=300):
    return subprocess.run([str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def own_checks(plugin: Path) -> list[str]:
    """What fails when the plugin runs its own tests and `devkit check` (empty: all passed)."""
    failures = []
    tests = run(sys.executable, "-m", "pytest", "-q", "-x", cwd=plugin, env=PLUGIN_PYTEST_ENV)
    if tests.returncode != 0:
        failures.append(f"{plugin.name}: its tests fail\n{tests.stdout[-4000:]}{tests.stderr[-2000:]}")
    problems = check(plugin)  # what `devkit check` prints (its command line is tested below)
    drift = library_drift(plugin)
    if problems or drift:
        failures.append(f"{plugin.name}: devkit check: {problems} {drift or ''}")
    return failures


def ruff_problems(folder: Path) -> str:
    """ruff's complaints over every plugin under `folder`, each with its own ruff.toml ('' when none)."""
    lint = run(RUFF, "check", "--no-cache", folder)
    style = run(RUFF, "format", "--check", "--no-cache", folder)
    return "" if lint.returncode == style.returncode == 0 else lint.stdout + style.stdout


def rendered_text(plugin: Path) -> dict[str, str]:
    files = (f for f in sorted(plugin.rglob("*")) if f.is_file() and ".git" not in f.relative_to(plugin).parts)
    return {str(f.relative_to(plugin)): f.read_text() for f in files}


def template_repo(into: Path) -> Path:
    """This checkout's template (its working tree) as a small git repo: copier clones its source for
    every render, and a clone of the whole project costs seconds each."""
    repo = into / "template-repo"
    repo.mkdir()
    shutil.copy2(ROOT / "copier.yml", repo)
    shutil.copytree(ROOT / "template", repo / "template", symlinks=True)
    shutil.copytree(LIBRARY, repo / "endpoint_kit", ignore=shutil.ignore_patterns("__pycache__"))
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "template"]):
        subprocess.run([*GIT, *args], cwd=repo, check=True, capture_output=True)
    return repo


@pytest.fixture(scope="module")
def plugins(tmp_path_factory) -> dict[tuple[str, str], Path]:
    """Every combination, rendered one after the other (copier is not thread-safe; it changes the cwd)."""
    into = tmp_path_factory.mktemp("combinations")
    template = str(template_repo(tmp_path_factory.mktemp("template")))
    return {
        ("-".join(routes), auth): new_plugin(f"p-{'-'.join(routes)}-{auth}", into, routes, auth, "acme", None, template)
        for routes, auth in COMBINATIONS
    }


def test_every_combination_passes_its_own_tests_devkit_check_and_ruff(plugins):
    assert len(plugins) == 21
    with ThreadPoolExecutor(max_workers=3) as pool:  # the work is in subprocesses; 2 cores
        failures = [f for found in pool.map(own_checks, plugins.values()) for f in found]
    assert not failures, "\n\n".join(failures)
    problems = ruff_problems(next(iter(plugins.values())).parent)
    assert not problems, problems


def test_no_rendered_file_names_duck(plugins):
    for plugin in plugins.values():
        for name, text in rendered_text(plugin).items():
            text = text.replace(str(ROOT), "<checkout>")  # where the dev kit was installed from may say duck
            assert "duck" not in (name + text).lower(), f"{plugin.name}/{name}"


def test_the_provider_declares_only_the_settings_its_routes_read(plugins):
    for (routes, auth), plugin in plugins.items():
        provider = yaml.safe_load((plugin / "provider" / f"{plugin.name}.yaml").read_text())
        wanted = SETTINGS_FOR[auth] | ({"app"} if "app" in routes else set())
        assert {s["name"] for s in provider["settings"]} == wanted, plugin.name
        specs = {Path(s).stem for s in provider["endpoints"]}
        assert specs == {{"app": "ask", "webhook": "webhook", "form": "command"}[r] for r in routes.split("-")}
        manifest = yaml.safe_load((plugin / "manifest.yaml").read_text())
        assert ("app" in manifest["resource"]["permission"]) == ("app" in routes)  # the daemon's AllowInvokeApp


def test_the_library_is_vendored_exactly_with_what_it_needs_at_run_time(plugins):
    plugin = plugins[("app-webhook-form", "key")]
    comparison = filecmp.dircmp(LIBRARY, plugin / "endpoint_kit", ignore=["__pycache__"])
    assert not (comparison.diff_files or comparison.left_only or comparison.right_only)
    assert not (plugin / "endpoint_kit").is_symlink()
    pinned = [line for line in (plugin / "requirements.txt").read_text().splitlines() if line and line[0] != "#"]
    installed = {_normalized(re.split("[=<>!~ ]", line)[0]) for line in pinned}
    installed |= {_normalized(re.split("[=<>!~ ;]", r)[0]) for r in importlib.metadata.requires("dify_plugin") or []}
    for module in _third_party_imports(LIBRARY):
        distributions = {_normalized(d) for d in importlib.metadata.packages_distributions().get(module, [module])}
        assert distributions & installed, f"endpoint_kit imports {module}, which requirements.txt does not install"


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _third_party_imports(package: Path) -> set[str]:
    names = set()
    for file in package.glob("*.py"):
        for node in ast.walk(ast.parse(file.read_text())):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names and n != package.name}


def test_endpoint_add_renders_every_kind_in_a_plugin_outside_the_checkout(tmp_path):
    plugin = new_plugin("adds", tmp_path, ["webhook"], "none")
    add_endpoint(plugin, "order_paid", "POST", "/orders/<order_id>/paid", kind="webhook", auth="signature")
    add_endpoint(plugin, "slash", "POST", "/slack/<team>", kind="form", auth="key")
    add_endpoint(plugin, "chat", "PUT", "/chat", kind="app", auth="none")
    provider = yaml.safe_load((plugin / "provider" / "adds.yaml").read_text())
    assert provider["endpoints"] == [
        "endpoints/webhook.yaml",
        "endpoints/order_paid.yaml",
        "endpoints/slash.yaml",
        "endpoints/chat.yaml",
    ]
    assert [s["name"] for s in provider["settings"]] == ["webhook_sender", "webhook_secret", "api_key", "app"]
    assert "app" in yaml.safe_load((plugin / "manifest.yaml").read_text())["resource"]["permission"]
    assert own_checks(plugin) == []
    assert ruff_problems(plugin) == ""


@pytest.fixture(scope="module")
def rendered_once(tmp_path_factory) -> Path:
    return new_plugin("refuses", tmp_path_factory.mktemp("once"), ["webhook"], "key")


@pytest.fixture
def webhook_plugin(rendered_once, tmp_path) -> Path:
    """A fresh copy of a plugin with the webhook route and key auth."""
    return Path(shutil.copytree(rendered_once, tmp_path / "refuses", symlinks=True))


@pytest.mark.parametrize(
    "name, method, path, kind, message",
    [
        ("webhook", "POST", "/other", "webhook", "an endpoint named webhook already exists"),
        ("again", "POST", "/webhook", "form", "POST /webhook is already routed by endpoints/webhook.yaml"),
        ("Bad-Name", "POST", "/x", "webhook", "is not an endpoint name"),
        ("reads", "GET", "/x", "webhook", "reads a request body"),
        ("nopath", "POST", "x", "webhook", "is not a route path"),
        ("what", "POST", "/x", "grpc", "unknown kind"),
        ("conv", "POST", "/a/<foo:x>", "webhook", "is not a route path.*converter 'foo' does not exist"),
        ("twice", "POST", "/b/<x>/<x>", "webhook", "is not a route path"),
        ("quote", "POST", '/e"q', "webhook", "is not a route path"),  # would break the spec's YAML
        ("query", "POST", "/a?q=1", "webhook", "is not a route path"),  # a rule never sees the query
        ("space", "POST", "/a b", "webhook", "is not a route path"),
        ("escape", "POST", "/d%2F", "webhook", "is not a route path"),  # its own test got a 404
    ],
)
def test_endpoint_add_refuses(webhook_plugin, name, method, path, kind, message):
    before = rendered_text(webhook_plugin)
    with pytest.raises(TemplateError, match=message):
        add_endpoint(webhook_plugin, name, method, path, kind=kind)
    assert rendered_text(webhook_plugin) == before


def test_endpoint_add_names_a_broken_spec_instead_of_a_traceback(webhook_plugin):
    (webhook_plugin / "endpoints" / "webhook.yaml").write_text('path: "/e"quote"\n')
    with pytest.raises(TemplateError, match=r"webhook.yaml is not valid YAML"):
        add_endpoint(webhook_plugin, "more", "POST", "/more")


def test_a_route_with_other_variable_names_is_a_duplicate(webhook_plugin):
    add_endpoint(webhook_plugin, "one", "POST", "/items/<item_id>")
    with pytest.raises(TemplateError, match=r"POST /items/<int:n> is already routed by endpoints/one.yaml"):
        add_endpoint(webhook_plugin, "two", "POST", "/items/<int:n>")


def test_new_refuses_what_dify_would_refuse(tmp_path):
    with pytest.raises(TemplateError, match="lower-case letters, digits, _ and -"):
        new_plugin("Bad Name", tmp_path, ["webhook"], "key")
    with pytest.raises(TemplateError, match="lower-case letters, digits, _ and -"):
        new_plugin("ok", tmp_path, ["webhook"], "key", author="Acme Inc.")
    with pytest.raises(TemplateError, match="unknown route"):
        new_plugin("ok", tmp_path, ["webhook", "grpc"], "key")
    (tmp_path / "taken").mkdir()
    with pytest.raises(TemplateError, match="already exists"):
        new_plugin("taken", tmp_path, ["webhook"], "key")
    with pytest.raises(TemplateError, match="is not a plugin name"):
        new_plugin("", tmp_path, ["webhook"], "key")  # not "tmp_path already exists"
    (tmp_path / "afile").write_text("")
    with pytest.raises(TemplateError, match="Not a directory"):
        new_plugin("ok", tmp_path / "afile", ["webhook"], "key")
    # copier takes any folder as a template and would copy all of it into the plugin
    with pytest.raises(TemplateError, match="has no copier.yml"):
        new_plugin("ok", tmp_path, ["webhook"], "key", template=str(tmp_path / "taken"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "taken"]


def test_update_refuses_broken_answers_and_a_template_that_moved(webhook_plugin):
    answers = webhook_plugin / ".copier-answers.yml"
    recorded = answers.read_text()
    answers.write_text("garbage: [\n")
    with pytest.raises(TemplateError, match="is not valid YAML"):
        plugin_template.update_plugin(webhook_plugin)
    answers.write_text(re.sub(r"_src_path: .*", "_src_path: /nowhere/template", recorded))
    with pytest.raises(TemplateError, match="/nowhere/template, is not there any more: set _src_path"):
        plugin_template.update_plugin(webhook_plugin)


def test_ci_run_refuses_a_python_older_than_the_sdk_needs(webhook_plugin, tmp_path):
    """On a machine whose python3 is 3.11 the SDK does not install; .ci/run says so before pip does."""
    assert (webhook_plugin / ".python-version").read_text() == "3.12\n"  # pyenv's python3 follows it
    old = tmp_path / "old-python"
    old.mkdir()
    (old / "python3").write_text(  # this interpreter, claiming to be 3.11 (as python3 is on Debian 12)
        f'#!/bin/sh\n[ "$1" = -c ] && exec {sys.executable} -c "import sys; sys.version_info = (3, 11, 7)\n$2"\nexit 3\n'
    )
    (old / "python3").chmod(0o755)

    ran = run("bash", ".ci/run", cwd=webhook_plugin, env={"PATH": f"{old}:/usr/bin:/bin"})

    assert ran.returncode == 1
    assert "needs Python 3.12 or newer" in ran.stderr
    assert not (webhook_plugin / ".venv").exists()


def test_devkit_check_warns_when_the_vendored_library_is_not_the_version_it_claims(webhook_plugin):
    assert library_drift(webhook_plugin) is None
    edit = webhook_plugin / "endpoint_kit" / "_auth.py"
    edit.write_text(edit.read_text() + "\nPATCHED = True\n")
    (webhook_plugin / "endpoint_kit" / "_mine.py").write_text("MINE = True\n")

    checked = run(sys.executable, "-m", "devkit", "check", webhook_plugin)

    assert checked.returncode == 0, checked.stderr  # Dify would still take it
    version = re.search(r'__version__ = "([^"]+)"', (LIBRARY / "__init__.py").read_text()).group(1)
    assert (
        f"warning: endpoint_kit/ claims version {version} but differs from it in _auth.py, _mine.py" in checked.stderr
    )


def test_the_dev_kit_requirement_is_where_it_was_installed_from(monkeypatch):
    assert devkit_requirement() == f"-e {ROOT / 'devkit'}"  # make setup: pip install -e ./devkit

    class Installed:  # importlib.metadata's view of a non-editable install from git (PEP 610)
        version = "0.1.0"

        def read_text(self, name):
            assert name == "direct_url.json"
            return json.dumps(
                {
                    "url": "https://example.com/acme/kit.git",
                    "vcs_info": {"vcs": "git", "commit_id": "0123abcd", "requested_revision": "v2.0.0"},
                    "subdirectory": "devkit",
                }
            )

    monkeypatch.setattr(plugin_template.importlib.metadata, "distribution", lambda name: Installed())
    assert (
        devkit_requirement() == "dify-endpoint-devkit @ git+https://example.com/acme/kit.git@v2.0.0#subdirectory=devkit"
    )


def test_without_a_checkout_new_asks_for_the_template(monkeypatch, tmp_path):
    monkeypatch.setattr(plugin_template.devkit, "__file__", str(tmp_path / "site-packages" / "devkit" / "__init__.py"))
    with pytest.raises(TemplateError, match="pass --template <git URL or path"):
        new_plugin("lost", tmp_path, ["webhook"], "key")


def test_endpoint_add_works_in_a_plugin_not_made_from_the_template(tmp_path):
    plugin = Path(shutil.copytree(ROOT / "tests" / "bare_plugin", tmp_path / "bare"))
    group_before = (plugin / "group.yaml").read_text()
    problems_before = check(plugin)  # no privacy policy, no requirements.txt

    add_endpoint(plugin, "hook", "POST", "/hook", kind="webhook", auth="key")

    group = (plugin / "group.yaml").read_text()
    assert group.startswith(group_before.split("endpoints:")[0].rstrip("\n"))  # its own lines stay as they were
    assert "  - name: api_key\n    type: secret-input\n" in group  # indented as its other settings
    assert yaml.safe_load(group)["endpoints"][-1] == "endpoints/hook.yaml"
    assert (plugin / "endpoint_kit" / "__init__.py").is_file() and (plugin / "tests" / "conftest.py").is_file()
    library_needs = [line for line in (LIBRARY / "requirements.txt").read_text().splitlines() if line[:1].isalpha()]
    assert set(library_needs) <= set((plugin / "requirements.txt").read_text().splitlines())
    tests = run(sys.executable, "-m", "pytest", "-q", cwd=plugin, env=PLUGIN_PYTEST_ENV)
    assert tests.returncode == 0 and " passed" in tests.stdout, tests.stdout[-3000:]
    assert check(plugin) == [p for p in problems_before if "requirements.txt" not in p]  # the library's are there
