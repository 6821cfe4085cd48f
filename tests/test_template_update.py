"""`devkit update`: a plugin rendered from an older template version gets the newer one, keeping its
author's edits (3-way merge), marking conflicts inline, and taking the newer vendored library whole."""

import filecmp
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from devkit.endpoint_add import add_endpoint
from devkit.plugin_template import TemplateError, new_plugin, update_plugin

ROOT = Path(__file__).resolve().parent.parent
V1_DOCSTRING = '"""Version one of this handler."""'
GIT = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false"]


def git(folder: Path, *args: str) -> str:
    return subprocess.run([*GIT, *args], cwd=folder, capture_output=True, text=True, check=True).stdout


def commit_all(folder: Path, message: str) -> None:
    git(folder, "add", "-A")
    git(folder, "commit", "-q", "-m", message)


class TemplateRepo:
    """A git repo of this checkout's template: tag v1.0.0 an older variant of it (a handler's docstring,
    a README heading, the library's version stamp and one more library module), v2.0.0 the real one."""

    def __init__(self, repo: Path):
        self.repo = repo
        repo.mkdir()
        shutil.copy2(ROOT / "copier.yml", repo)
        shutil.copytree(ROOT / "template", repo / "template", symlinks=True)
        shutil.copytree(ROOT / "endpoint_kit", repo / "endpoint_kit", ignore=shutil.ignore_patterns("__pycache__"))
        self.files = {
            "handler": repo / "template/_snippets/handler.py.jinja",
            "readme": repo / "template/README.md.jinja",
            "library": repo / "endpoint_kit/__init__.py",
        }
        self.v2 = {name: file.read_text() for name, file in self.files.items()}
        git(repo, "init", "-q")
        self.files["handler"].write_text(
            re.sub(
                r'"""\{\{ route.method \}\} \{\{ route.path \}\}: take a JSON [^\n]*', V1_DOCSTRING, self.v2["handler"]
            )
        )
        self.files["readme"].write_text(self.v2["readme"].replace("## Development", "## Working on it"))
        self.files["library"].write_text(re.sub(r'__version__ = "[^"]*"', '__version__ = "0.0.1"', self.v2["library"]))
        (repo / "endpoint_kit/_gone_in_v2.py").write_text("OLD = True\n")
        commit_all(repo, "v1")
        git(repo, "tag", "v1.0.0")

    def release_v2(self) -> None:
        for name, file in self.files.items():
            file.write_text(self.v2[name])
        (self.repo / "endpoint_kit/_gone_in_v2.py").unlink()
        commit_all(self.repo, "v2")
        git(self.repo, "tag", "v2.0.0")


@pytest.fixture
def template(tmp_path) -> TemplateRepo:
    return TemplateRepo(tmp_path / "template-repo")


@pytest.fixture
def plugin(template, tmp_path) -> Path:
    """A webhook plugin rendered from v1.0.0 and committed, as its author would."""
    plugin = new_plugin("hooks", tmp_path, ["webhook", "form"], "signature", template=str(template.repo))
    assert V1_DOCSTRING in (plugin / "endpoints/webhook.py").read_text()
    assert (plugin / "endpoint_kit/_gone_in_v2.py").exists()
    commit_all(plugin, "new plugin")
    return plugin


def edit(file: Path, old: str, new: str) -> None:
    text = file.read_text()
    assert old in text
    file.write_text(text.replace(old, new, 1))


def test_update_keeps_the_authors_edits_and_brings_the_new_template(template, plugin):
    handler = plugin / "endpoints/webhook.py"
    edit(handler, 'json_response({"received": payload})', 'json_response({"received": payload, "by": "me"})')
    edit(plugin / "endpoint_kit/_gone_in_v2.py", "OLD = True", "OLD = False")  # not the author's to keep
    add_endpoint(plugin, "ask_app", "POST", "/ask-app", kind="app", auth="key", template=str(template.repo))
    commit_all(plugin, "my edits")
    template.release_v2()

    run = subprocess.run([sys.executable, "-m", "devkit", "update"], cwd=plugin, capture_output=True, text=True)

    assert run.returncode == 0, run.stderr
    text = handler.read_text()
    assert '"by": "me"' in text  # the author's edit
    assert V1_DOCSTRING not in text and "take a JSON" in text  # v2's line
    assert "## Development" in (plugin / "README.md").read_text()
    assert "_commit: v2.0.0" in (plugin / ".copier-answers.yml").read_text()
    provider = yaml.safe_load((plugin / "provider/hooks.yaml").read_text())
    assert provider["endpoints"][-1] == "endpoints/ask_app.yaml"  # the added route stays registered
    assert {"api_key", "app", "webhook_sender", "webhook_secret"} == {s["name"] for s in provider["settings"]}
    assert yaml.safe_load((plugin / "manifest.yaml").read_text())["resource"]["permission"]["app"]["enabled"]
    library = filecmp.dircmp(ROOT / "endpoint_kit", plugin / "endpoint_kit", ignore=["__pycache__"])
    assert not (library.diff_files or library.left_only or library.right_only)


def test_a_conflicting_edit_is_marked_inline_not_lost(template, plugin):
    handler = plugin / "endpoints/webhook.py"
    edit(handler, V1_DOCSTRING, '"""My own docstring."""')
    commit_all(plugin, "my docstring")
    template.release_v2()

    assert update_plugin(plugin, to="v2.0.0") == ["endpoints/webhook.py"]

    text = handler.read_text()
    assert "<<<<<<< before updating" in text and ">>>>>>> after updating" in text
    assert '"""My own docstring."""' in text and "take a JSON" in text


def test_update_refuses_a_dirty_tree(template, plugin):
    edit(plugin / "endpoints/webhook.py", "payload = json_body(r)", "payload = json_body(r)  # uncommitted")
    template.release_v2()
    with pytest.raises(TemplateError, match="dirty"):
        update_plugin(plugin)
    assert "# uncommitted" in (plugin / "endpoints/webhook.py").read_text()


def test_update_refuses_a_folder_not_made_from_the_template(tmp_path):
    with pytest.raises(TemplateError, match="only a plugin made with `devkit new` can be updated"):
        update_plugin(tmp_path)
