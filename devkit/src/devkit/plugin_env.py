"""The plugin's own Python environment, made the way the daemon makes it before starting a plugin.

From langgenius/dify-plugin-daemon internal/core/local_runtime/setup_python_environment.go:
- detectDependencyFileType: a `pyproject.toml` at the plugin root wins over `requirements.txt`
  (the pip-mirror exception does not apply here); neither is an error.
- createVirtualEnvironment: `uv venv .venv --python 3.12`.
- installDependencies: `uv sync --no-dev` (`--frozen` when `uv.lock` is there) for pyproject.toml,
  `uv pip install -r requirements.txt` otherwise, with a minimal environment (buildUVCommandEnv).
- markVirtualEnvironmentAsValid: `.venv/dify/plugin.json` marks a complete environment; one
  without it is deleted and made again (checkPythonVirtualEnvironment).
and uv is found as the daemon finds it: `from uv._find_uv import find_uv_bin` (prepareUV).

Unlike the daemon, environments live in a cache (DEVKIT_CACHE, default
~/.cache/devkit/envs), keyed by a hash of the dependency files, so the second run is instant.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

PYPROJECT, REQUIREMENTS, UV_LOCK = "pyproject.toml", "requirements.txt", "uv.lock"
VALID_FLAG = Path("dify") / "plugin.json"
_FORMAT = "1"  # bump when the way environments are made changes, so old ones are not reused
# buildUVCommandEnv passes these through; we also pass UV_* so a developer can point uv at a mirror.
_PASSED_THROUGH = (
    "PATH",
    "HOME",
    "UV_INDEX_NEXUS_USERNAME",
    "UV_INDEX_NEXUS_PASSWORD",
    "SSL_CERT_FILE",
    "REQUESTS_CA_BUNDLE",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
)


class PluginEnvError(Exception):
    """The daemon would fail to set this plugin up; the message says why."""


def cache_root() -> Path:
    configured = os.environ.get("DEVKIT_CACHE")
    if configured:
        return Path(configured)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "devkit"


def dependency_file(plugin_dir: Path) -> str:
    """detectDependencyFileType: pyproject.toml if present, else requirements.txt."""
    for name in (PYPROJECT, REQUIREMENTS):
        if (plugin_dir / name).is_file():
            return name
    raise PluginEnvError(f"neither {PYPROJECT} nor {REQUIREMENTS} found in plugin directory")


def dependency_problems(plugin_dir: Path, files: set[str]) -> list[str]:
    """What would make the daemon install the wrong dependencies, or none (for `check`)."""
    if PYPROJECT not in files:
        return (
            []
            if REQUIREMENTS in files
            else [
                f"the package has neither {REQUIREMENTS} nor {PYPROJECT}: "
                "the daemon cannot install the plugin's dependencies"
            ]
        )
    why = (
        f"the daemon installs the plugin's dependencies from a packaged {PYPROJECT} (uv sync) in preference "
        f"to {REQUIREMENTS}"
    )
    try:
        project = tomllib.loads((plugin_dir / PYPROJECT).read_text()).get("project")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        return [f"{PYPROJECT} is not valid TOML ({e}); {why}"]
    if not isinstance(project, dict):
        return [
            f"{PYPROJECT} has no [project] table, so uv sync would fail: {why}. If it only configures "
            f"tools, add it to .difyignore"
        ]
    declared = _names(project.get("dependencies") or [])
    problems = []
    if "dify-plugin" not in declared:
        problems.append(f"{PYPROJECT} does not list dify_plugin in [project].dependencies: {why}")
    if REQUIREMENTS in files:
        missing = sorted(_names(_requirement_lines(plugin_dir / REQUIREMENTS)) - declared)
        if missing:
            problems.append(
                f"{REQUIREMENTS} lists {', '.join(missing)} but {PYPROJECT} does not; {why}, "
                f"so {REQUIREMENTS} is ignored"
            )
    return problems


def prepare(plugin_dir: Path, echo: Callable[[str], None] = print) -> Path:
    """The python of an environment holding exactly the plugin's own dependencies; made if needed."""
    kind = dependency_file(plugin_dir)
    inputs = [kind] + ([UV_LOCK] if kind == PYPROJECT and (plugin_dir / UV_LOCK).is_file() else [])
    digest = hashlib.sha256(f"{_FORMAT}\0{sys.version}\0".encode())
    for name in inputs:
        digest.update(name.encode() + b"\0" + (plugin_dir / name).read_bytes() + b"\0")
    envs = cache_root() / "envs"
    envs.mkdir(parents=True, exist_ok=True)
    env = envs / digest.hexdigest()[:24]
    with open(envs / f"{env.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two runs making the same environment wait for each other
        python = env / "bin" / "python"
        if (env / VALID_FLAG).is_file() and python.is_file():
            return python
        shutil.rmtree(env, ignore_errors=True)  # incomplete: delete and make again, as the daemon does
        echo(f"installing the plugin's dependencies from {' + '.join(inputs)} into {env} ...")
        started = time.monotonic()
        uv = _find_uv()
        _run([uv, "venv", str(env), "--python", sys.executable], plugin_dir, env, "create the environment")
        if kind == PYPROJECT:
            command = [uv, "sync", "--no-dev"] + (["--frozen"] if UV_LOCK in inputs else [])
        else:
            command = [uv, "pip", "install", "-r", REQUIREMENTS]
        _run(command, plugin_dir, env, "install the plugin's dependencies")
        (env / VALID_FLAG).parent.mkdir(parents=True, exist_ok=True)
        (env / VALID_FLAG).write_text(json.dumps({"timestamp": int(time.time())}))
        echo(f"dependencies installed in {time.monotonic() - started:.1f} s (cached for the next run)")
        return python


def _find_uv() -> str:
    try:
        from uv import find_uv_bin
    except ImportError as e:
        raise PluginEnvError(
            "uv is not installed in the dev kit's environment (it is in requirements-dev.txt: run make setup)"
        ) from e
    return find_uv_bin()


def _run(command: list[str], plugin_dir: Path, env: Path, what: str) -> None:
    environment = {key: os.environ[key] for key in _PASSED_THROUGH if key in os.environ}
    environment |= {key: value for key, value in os.environ.items() if key.startswith("UV_")}
    environment |= {
        "VIRTUAL_ENV": str(env),
        "UV_PROJECT_ENVIRONMENT": str(env),
        "UV_CACHE_DIR": str(cache_root() / "uv"),
        "UV_PYTHON_DOWNLOADS": "never",
    }
    try:
        run = subprocess.run(command, cwd=plugin_dir, env=environment, capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired as e:
        shutil.rmtree(env, ignore_errors=True)
        raise PluginEnvError(f"could not {what}: no result in {e.timeout:.0f} s") from e
    if run.returncode:
        shutil.rmtree(env, ignore_errors=True)
        output = "\n".join((run.stderr or run.stdout).strip().splitlines()[-15:])
        shown = " ".join([Path(command[0]).name, *command[1:]])
        raise PluginEnvError(f"could not {what} (`{shown}` failed; Dify would fail the same way):\n{output}")


def _requirement_lines(path: Path) -> list[str]:
    lines = []
    for line in path.read_text().splitlines():
        line = line.split(" #", 1)[0].strip()
        if line and not line.startswith(("#", "-")):
            lines.append(line)
    return lines


def _names(requirements: list) -> set[str]:
    names = set()
    for text in requirements:
        try:
            names.add(canonicalize_name(Requirement(str(text)).name))
        except InvalidRequirement:
            continue
    return names
