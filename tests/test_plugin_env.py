"""Serving a .difypkg installs the package's own dependencies, as the daemon does, and nothing else."""

import os
import subprocess
import sys
import zipfile

import httpx
import pytest

from devkit import plugin_env
from devkit.harness import Runtime
from tests.conftest import ROOT

BARE = ROOT / "tests" / "bare_plugin"
# The handler needs a small pure-Python package that neither the dev kit nor dify_plugin brings.
HANDLER = """from collections.abc import Mapping

import inflection
from dify_plugin import Endpoint
from werkzeug import Request, Response


class Hello(Endpoint):
    def _invoke(self, r: Request, values: Mapping, settings: Mapping) -> Response:
        return Response(inflection.camelize(values["what"]), content_type="text/plain")
"""
SDK = "dify_plugin==0.10.2"
EXTRA = "inflection==0.5.1"


def tiny_package(path, dependency_files: dict[str, str]):
    """The bare test plugin with HANDLER, zipped with the given dependency files."""
    with zipfile.ZipFile(path, "w") as archive:
        for file in sorted(BARE.rglob("*")):
            name = file.relative_to(BARE).as_posix()
            if file.is_file() and "__pycache__" not in name:
                archive.writestr(name, HANDLER if name == "endpoints/hello.py" else file.read_bytes())
        for name, text in dependency_files.items():
            archive.writestr(name, text)
    return path


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """A fresh environment cache and temp folder for the serve processes of this module."""
    root = tmp_path_factory.mktemp("env")
    (root / "tmp").mkdir()
    return {"DEVKIT_CACHE": str(root / "cache"), "TMPDIR": str(root / "tmp")}


def serve(package, env):
    return Runtime(plugin_dir=package, env=env)


def test_a_dependency_missing_from_the_package_fails_here_not_in_dify(tmp_path, env):
    package = tiny_package(tmp_path / "tiny.difypkg", {"requirements.txt": f"{SDK}\n"})
    run = subprocess.run(
        [sys.executable, "-m", "devkit", "serve", str(package), "--port", "0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **env},
    )
    assert run.returncode == 1, run.stdout + run.stderr
    assert (
        "error: the plugin did not start (exit code 1): ModuleNotFoundError: No module named 'inflection'" in run.stderr
    )
    assert "add it to the plugin's own requirements.txt" in run.stderr


def test_listed_it_serves_and_the_environment_is_cached(tmp_path, env):
    package = tiny_package(tmp_path / "tiny.difypkg", {"requirements.txt": f"{SDK}\n{EXTRA}\n"})
    for run in ("first", "second"):
        running = serve(package, env)
        try:
            answer = httpx.get(running.base_url + "/hello/some_thing", headers=running.headers)
            assert answer.text == "SomeThing"
            installing = "installing the plugin's dependencies from requirements.txt" in running.output()
            assert installing == (run == "first"), running.output()
        finally:
            running.stop()
    assert not os.listdir(env["TMPDIR"])  # the unpacked package is removed when serving stops


def test_a_packaged_pyproject_wins_over_requirements(tmp_path, env):
    """detectDependencyFileType: pyproject.toml (uv sync) first; requirements.txt is then ignored."""
    pyproject = (
        f'[project]\nname = "tiny"\nversion = "0.0.1"\nrequires-python = ">=3.12"\n'
        f'dependencies = ["{SDK}", "{EXTRA}"]\n'
    )
    package = tiny_package(tmp_path / "tiny.difypkg", {"pyproject.toml": pyproject, "requirements.txt": f"{SDK}\n"})
    running = serve(package, env)
    try:
        assert httpx.get(running.base_url + "/hello/a_b", headers=running.headers).text == "AB"
        assert "from pyproject.toml into" in running.output()
    finally:
        running.stop()


def test_a_stale_uv_lock_fails_as_uv_sync_frozen_does(tmp_path, env):
    """With uv.lock packaged the daemon runs `uv sync --frozen`: the lock is used as it is."""
    pyproject = f'[project]\nname = "tiny"\nversion = "0.0.1"\nrequires-python = ">=3.12"\ndependencies = ["{SDK}"]\n'
    lock = (
        'version = 1\nrequires-python = ">=3.12"\n\n[[package]]\nname = "tiny"\nversion = "0.0.1"\n'
        'source = { virtual = "." }\n'
    )  # a lock made before dify_plugin was added
    package = tiny_package(tmp_path / "tiny.difypkg", {"pyproject.toml": pyproject, "uv.lock": lock})
    run = subprocess.run(
        [sys.executable, "-m", "devkit", "serve", str(package), "--port", "0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **env},
    )
    assert run.returncode == 1
    assert "ModuleNotFoundError: No module named 'dify_plugin'" in run.stderr  # the lock lists no dify_plugin


def test_an_uninstallable_requirement_fails_with_uvs_words(tmp_path, env):
    package = tiny_package(
        tmp_path / "tiny.difypkg", {"requirements.txt": f"{SDK}\nno-such-package-devkit-probe==0.0.0\n"}
    )
    run = subprocess.run(
        [sys.executable, "-m", "devkit", "serve", str(package), "--port", "0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **env},
    )
    assert run.returncode == 1
    assert "could not install the plugin's dependencies (`uv pip install -r requirements.txt` failed" in run.stderr
    assert "no-such-package-devkit-probe" in run.stderr


def test_the_dependency_file_is_chosen_as_the_daemon_chooses(tmp_path):
    with pytest.raises(plugin_env.PluginEnvError, match="neither pyproject.toml nor requirements.txt"):
        plugin_env.dependency_file(tmp_path)
    (tmp_path / "requirements.txt").write_text(SDK)
    assert plugin_env.dependency_file(tmp_path) == "requirements.txt"
    (tmp_path / "pyproject.toml").write_text("")
    assert plugin_env.dependency_file(tmp_path) == "pyproject.toml"
