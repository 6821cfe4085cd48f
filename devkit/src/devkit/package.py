"""Check and build .difypkg packages the way the Dify daemon expects them (signing: devkit/signing.py).

A package is a zip of the plugin folder, minus what `.difyignore` (gitignore syntax) leaves out.
The same folder always gives the same bytes: sorted entries, fixed timestamps and permissions.
"""

from __future__ import annotations

import json
import os
import posixpath
import subprocess
import sys
import zipfile
from pathlib import Path

import pathspec
import yaml
from pydantic import ValidationError

from devkit import manifest_rules, plugin_env

# The daemon's MAX_PLUGIN_PACKAGE_SIZE default: the uncompressed size of all files.
MAX_PACKAGE_BYTES = 52_428_800
ALWAYS_LEFT_OUT = [
    "*.difypkg",
    ".git/",
    ".venv/",
    "venv/",
    "env/",
    "__pycache__/",
    "*.pyc",
    ".pytest_cache/",
    ".hypothesis/",
    ".mypy_cache/",
    ".ruff_cache/",
    ".DS_Store",
]
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)


class PackageError(Exception):
    """The daemon would refuse this plugin; the message says why in plain words."""


def package_files(plugin_dir: Path) -> list[str]:
    """The paths (POSIX, relative, sorted) that go into the package."""
    ignore_file = plugin_dir / ".difyignore"
    patterns = ALWAYS_LEFT_OUT + (ignore_file.read_text().splitlines() if ignore_file.exists() else [])
    spec = pathspec.GitIgnoreSpec.from_lines(patterns)
    files = []
    for root, dirs, names in os.walk(plugin_dir):
        relative_root = Path(root).relative_to(plugin_dir)
        dirs[:] = sorted(d for d in dirs if not spec.match_file(f"{(relative_root / d).as_posix()}/"))
        for name in names:
            path = (relative_root / name).as_posix()
            if not spec.match_file(path) and not (Path(root) / name).is_symlink():
                files.append(path)
    return sorted(files)


def check(plugin_dir: Path) -> list[str]:
    """Every reason the daemon would refuse to install or start this plugin; empty when there is none."""
    from dify_plugin.core.entities.plugin.setup import PluginConfiguration

    if not (plugin_dir / "manifest.yaml").is_file():
        return [f"{plugin_dir} has no manifest.yaml"]
    files = set(package_files(plugin_dir))
    problems: list[str] = []

    def need(path: str, what: str) -> bool:
        if path not in files:
            problems.append(
                f"{what} {path} is missing from the package"
                + (" (left out by .difyignore)" if (plugin_dir / path).exists() else "")
            )
            return False
        return True

    manifest = _yaml(plugin_dir / "manifest.yaml", problems)
    try:
        configuration = PluginConfiguration(**manifest)
    except (ValidationError, TypeError) as e:
        return [*problems, f"manifest.yaml is not valid: {_first_error(e)}"]
    problems += [f"manifest.yaml: {problem}" for problem in manifest_rules.problems(manifest)]
    need(f"_assets/{configuration.icon}", "the icon")
    if configuration.icon_dark:
        need(f"_assets/{configuration.icon_dark}", "the dark icon")
    privacy = manifest.get("privacy")
    if not privacy:
        problems.append("manifest.yaml names no privacy policy (privacy: ./PRIVACY.md)")
    else:
        need(str(privacy).removeprefix("./"), "the privacy policy")
    need(configuration.meta.runner.entrypoint.replace(".", "/") + ".py", "the entrypoint")
    problems += plugin_env.dependency_problems(plugin_dir, files)
    sources = []
    for group in configuration.plugins.endpoints:
        if need(group, "the endpoint group"):
            sources += _endpoint_group_sources(plugin_dir, group, need, problems)
    problems += _handler_problems(plugin_dir, sorted(set(sources)))
    size = sum((plugin_dir / f).stat().st_size for f in files)
    if size > MAX_PACKAGE_BYTES:
        problems.append(f"the package holds {size} bytes uncompressed; the daemon accepts at most {MAX_PACKAGE_BYTES}")
    return problems


def _endpoint_group_sources(plugin_dir: Path, group: str, need, problems: list[str]) -> list[str]:
    """Check an endpoint group and its specs with the SDK's models; the handler files it names.

    The daemon reads each spec a group lists (decoder/helper.go Manifest) and fails on the first one
    missing; the SDK's model would read them relative to the working directory, so we hand it each
    spec already loaded."""
    from dify_plugin.entities.endpoint import EndpointConfiguration, EndpointProviderConfiguration

    declaration = _yaml(plugin_dir / group, problems)
    raw_endpoints = declaration.get("endpoints") or []
    if not isinstance(raw_endpoints, list):
        problems.append(f"{group}: endpoints must be a list of endpoint spec files")
        return []
    endpoints = []
    for raw in raw_endpoints:
        if isinstance(raw, str):
            if not need(raw, "the endpoint spec"):
                continue
            spec, raw = raw, _yaml(plugin_dir / raw, problems)
        else:
            spec = f"an endpoint declared inline in {group}"
        try:
            endpoints.append(EndpointConfiguration(**raw))
        except (ValidationError, TypeError) as e:
            problems.append(f"{spec} is not valid: {_first_error(e)}")
    try:
        EndpointProviderConfiguration(**{**declaration, "endpoints": endpoints})
    except (ValidationError, ValueError, TypeError) as e:
        problems.append(f"{group} is not valid: {_first_error(e)}")
    return [endpoint.extra.python.source for endpoint in endpoints if need(endpoint.extra.python.source, "the handler")]


def build(plugin_dir: Path, output: Path | None = None) -> Path:
    """Write <name>-<version>.difypkg (or `output`); refuses with PackageError when check() fails."""
    problems = check(plugin_dir)
    if problems:
        raise PackageError("cannot package this plugin:\n  - " + "\n  - ".join(problems))
    manifest = yaml.safe_load((plugin_dir / "manifest.yaml").read_text())
    output = output or Path.cwd() / f"{manifest['name']}-{manifest['version']}.difypkg"
    if output.is_dir():
        output = output / f"{manifest['name']}-{manifest['version']}.difypkg"
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in package_files(plugin_dir):
            _add(archive, path, (plugin_dir / path).read_bytes())
    return output


def extract(package: Path, into: Path) -> Path:
    """Unpack a .difypkg as the daemon installs it, refusing what it refuses.

    The daemon reads every entry to checksum it (pkg/plugin_packager/decoder/checksum.go) and to
    unpack it (decoder/zip.go ExtractTo): a directory entry, as `zip -r` writes, cannot be read and
    fails the install; an entry escaping the folder is an "illegal file path"; the size limit is
    NewZipPluginDecoderWithSizeLimit's."""
    with zipfile.ZipFile(package) as archive:
        if sum(info.file_size for info in archive.infolist()) > MAX_PACKAGE_BYTES:
            raise PackageError(f"{package} unpacks to more than {MAX_PACKAGE_BYTES} bytes")
        root = os.path.normpath(into)
        for info in archive.infolist():
            if info.is_dir():
                raise PackageError(
                    f"it has a directory entry {info.filename!r} (as `zip -r` writes): the daemon "
                    "cannot read it and refuses the package; build it with `python -m devkit package`"
                )
            target = os.path.normpath(root + "/" + posixpath.normpath(info.filename))
            if os.path.commonpath([root, target]) != root:
                raise PackageError(f"illegal file path in plugin package: {info.filename!r}")
        if "manifest.yaml" not in archive.namelist():
            raise PackageError("it has no manifest.yaml at its root")
        archive.extractall(into)
    return into


def _add(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
    info.external_attr = 0o644 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, data)


def _yaml(path: Path, problems: list[str]) -> dict:
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as e:
        problems.append(f"{path.name} cannot be read as YAML: {e}")
        return {}
    return data if isinstance(data, dict) else {}


def _first_error(error: Exception) -> str:
    if isinstance(error, ValidationError):
        first = error.errors()[0]
        return f"{'.'.join(str(p) for p in first['loc']) or 'document'}: {first['msg']}"
    return str(error).splitlines()[0]


_LOAD_SCRIPT = """
import json, sys
from pathlib import Path
import dify_plugin
from dify_plugin.core.utils.class_loader import load_single_subclass_from_source
from dify_plugin.interfaces.endpoint import Endpoint
problems = []
for source in sys.argv[1:]:
    try:
        load_single_subclass_from_source(module_name=Path(source).with_suffix("").as_posix().replace("/", "."),
                                         script_path=str(Path.cwd() / source), parent_type=Endpoint)
    except Exception as e:
        problems.append(f"{source}: {e}")
print(json.dumps(problems))
"""


def _handler_problems(plugin_dir: Path, sources: list[str]) -> list[str]:
    """Load every handler with the SDK's own loader, in a fresh interpreter inside the plugin folder."""
    if not sources:
        return []
    run = subprocess.run(
        [sys.executable, "-c", _LOAD_SCRIPT, *sources],
        cwd=plugin_dir,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "INSTALL_METHOD": "local"},
    )
    try:
        problems = json.loads(run.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return [f"the handlers could not be loaded: {run.stderr.strip().splitlines()[-1:]}"]
    return [
        p.replace("Multiple subclasses", "more than one Endpoint subclass (imported ones count too)") for p in problems
    ]
