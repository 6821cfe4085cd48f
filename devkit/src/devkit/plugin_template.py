"""`devkit new` and `devkit update`: endpoint plugins rendered from the copier template.

The template is `template/` with `copier.yml` at the root of this repository (copier needs the git
root). It renders only glue; the library the handlers use, `endpoint_kit/`, reaches the plugin as a
vendored copy: `template/endpoint_kit` is a symlink to the repository's `endpoint_kit/`, which copier
follows when it renders (`_preserve_symlinks` is false by default), so `new` and `update` write real
files, and `update` then replaces the copy with the template's exactly (it is not the author's to edit).
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import re
import shutil
import subprocess
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlparse

import yaml

import devkit

DIST = "dify-endpoint-devkit"
ANSWERS = ".copier-answers.yml"
LIBRARY = "endpoint_kit"
ROUTES = ("app", "webhook", "form")
AUTHS = ("key", "signature", "none")


class TemplateError(Exception):
    pass


def template_source(explicit: str | None = None) -> str:
    """Where the template comes from: `--template`, else the checkout this dev kit is installed from."""
    if explicit:
        local = Path(explicit).expanduser()
        if not local.exists():
            return explicit  # a git URL
        if not (local / "copier.yml").is_file():
            # copier would take any folder as a template and copy all of it into the plugin.
            raise TemplateError(f"{local} has no copier.yml: pass the repository that holds copier.yml and template/")
        return str(local.resolve())
    for folder in Path(devkit.__file__).resolve().parents:
        if (folder / "copier.yml").is_file():
            return str(folder)
    raise TemplateError(
        "this dev kit was not installed from a checkout of its repository, so there is no template beside it: "
        "pass --template <git URL or path of the repository that holds copier.yml>"
    )


def devkit_requirement() -> str:
    """The requirement line that installs this same dev kit (PEP 610 direct_url.json), for requirements-dev.txt."""
    try:
        dist = importlib.metadata.distribution(DIST)
    except importlib.metadata.PackageNotFoundError:
        return DIST
    direct = json.loads(dist.read_text("direct_url.json") or "null")
    if not direct:  # from an index
        return f"{DIST}=={dist.version}"
    url = direct["url"]
    if direct.get("dir_info", {}).get("editable"):
        return f"-e {unquote(urlparse(url).path)}"
    vcs = direct.get("vcs_info")
    if vcs:
        url = f"{vcs['vcs']}+{url}@{vcs.get('requested_revision') or vcs['commit_id']}"
    subdirectory = direct.get("subdirectory")
    return f"{DIST} @ {url}" + (f"#subdirectory={subdirectory}" if subdirectory else "")


def new_plugin(
    name: str,
    into: Path,
    routes: list[str],
    auth: str,
    author: str | None = None,
    description: str | None = None,
    template: str | None = None,
) -> Path:
    """Render the template into `into/name`; returns the plugin folder."""
    unknown = sorted(set(routes) - set(ROUTES))
    if unknown:
        raise TemplateError(f"unknown route(s) {', '.join(unknown)}; choose from {', '.join(ROUTES)}")
    if auth not in AUTHS:
        raise TemplateError(f"unknown auth {auth!r}; choose from {', '.join(AUTHS)}")
    if not name or Path(name).name != name:  # "" or "a/b" would name the parent folder or another one
        raise TemplateError(f"{name!r} is not a plugin name: use lower-case letters, digits, _ and -")
    target = into.resolve() / name
    if target.exists():
        raise TemplateError(f"{target} already exists")
    source = template_source(template)
    data = {"plugin_name": name, "routes": routes, "auth": auth, "devkit_requirement": devkit_requirement()}
    data.update({k: v for k, v in (("author", author), ("description", description)) if v is not None})
    import copier
    from copier.errors import CopierError

    try:
        # vcs_ref HEAD: a local checkout renders its working tree, uncommitted changes included.
        with _quiet_about_dirty_templates():
            copier.run_copy(source, target, data=data, defaults=True, vcs_ref="HEAD", quiet=True)
    except (CopierError, ValueError, OSError) as e:
        shutil.rmtree(target, ignore_errors=True)
        raise TemplateError(str(e).strip()) from None
    _record_real_commit(target, source)
    if not _inside_git_work_tree(target):
        subprocess.run(["git", "init", "--quiet", str(target)], check=False)
    return target


def update_plugin(plugin: Path, to: str | None = None) -> list[str]:
    """copier update (a 3-way merge: the author's edits stay, conflicts are marked inline), then the
    vendored library replaced by the new template's exactly. Returns the files left with conflicts."""
    import copier
    from copier.errors import CopierError

    plugin = plugin.resolve()
    answers = _answers(plugin)
    source = str(answers["_src_path"])
    if not _looks_like_url(source) and not Path(source).expanduser().is_dir():
        raise TemplateError(
            f"the template this plugin came from, {source}, is not there any more: "
            f"set _src_path in {ANSWERS} to the template repository's new path or git URL, commit, update again"
        )
    try:
        with _quiet_about_dirty_templates():
            copier.run_update(
                plugin,
                data={"devkit_requirement": devkit_requirement()},
                defaults=True,
                overwrite=True,
                conflict="inline",
                vcs_ref=to,
                quiet=True,
            )
    except (CopierError, ValueError) as e:
        raise TemplateError(str(e).strip()) from None
    rendered_from = _record_real_commit(plugin, answers["_src_path"])
    refresh_library(plugin, answers["_src_path"], rendered_from)
    return conflicted_files(plugin)


def refresh_library(plugin: Path, source: str, ref: str) -> None:
    """Make `plugin/endpoint_kit` an exact copy of the template's at `ref` (files it no longer has go)."""
    import copier

    answers = {k: v for k, v in _answers(plugin).items() if not k.startswith("_")}
    with tempfile.TemporaryDirectory(prefix="devkit-library-") as scratch:
        rendered = Path(scratch) / "plugin"
        with _quiet_about_dirty_templates():
            copier.run_copy(
                source,
                rendered,
                data={**answers, "devkit_requirement": devkit_requirement()},
                defaults=True,
                vcs_ref=ref,
                quiet=True,
            )
        shutil.rmtree(plugin / LIBRARY, ignore_errors=True)
        shutil.copytree(rendered / LIBRARY, plugin / LIBRARY)


def conflicted_files(plugin: Path) -> list[str]:
    """Files holding the inline conflict markers copier writes."""
    run = subprocess.run(
        ["git", "grep", "-l", "-e", "^<<<<<<< before updating", "--", "."], cwd=plugin, capture_output=True, text=True
    )
    return run.stdout.split()


@contextlib.contextmanager
def _quiet_about_dirty_templates() -> Iterator[None]:
    """Rendering a checkout's working tree is the point, not a mistake to warn about."""
    from copier.errors import DirtyLocalWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DirtyLocalWarning)
        yield


def _answers(plugin: Path) -> dict:
    file = plugin / ANSWERS
    if not file.is_file():
        raise TemplateError(f"{plugin} has no {ANSWERS}: only a plugin made with `devkit new` can be updated")
    try:
        answers = yaml.safe_load(file.read_text())
    except yaml.YAMLError as e:
        raise TemplateError(f"{file} is not valid YAML ({str(e).splitlines()[0]}): restore it from git") from None
    if not isinstance(answers, dict) or not {"_src_path", "_commit"} <= answers.keys():
        raise TemplateError(f"{file} lacks _src_path and _commit (copier writes them): restore it from git")
    return answers


def _looks_like_url(source: str) -> bool:
    """A git URL (https://, ssh://, git@host:path) rather than a local folder."""
    return "://" in source or source.startswith("git@")


def _record_real_commit(plugin: Path, source: str) -> str:
    """The template ref the plugin was just rendered from. copier renders a dirty checkout's HEAD from a
    commit of its own that exists only in its scratch clone: then record the checkout's real HEAD, so
    a later update finds the version it started from, and answer "HEAD" (the working tree)."""
    file = plugin / ANSWERS
    text = file.read_text()
    commit = str(yaml.safe_load(text)["_commit"])
    if not Path(source).is_dir() or _git(source, "rev-parse", "--verify", "--quiet", f"{commit}^{{commit}}"):
        return commit
    head = _git(source, "describe", "--tags", "--always")
    file.write_text(text.replace(f"_commit: {commit}\n", f"_commit: {head}\n", 1))
    return "HEAD"


def _git(folder: str | Path, *args: str, strip: bool = True) -> str:
    """git's output, or "" when it fails."""
    run = subprocess.run(["git", *args], cwd=folder, capture_output=True, text=True)
    if run.returncode != 0:
        return ""
    return run.stdout.strip() if strip else run.stdout


def _inside_git_work_tree(folder: Path) -> bool:
    return _git(folder, "rev-parse", "--is-inside-work-tree") == "true"


def library_drift(plugin: Path) -> str | None:
    """A warning when the vendored `endpoint_kit/` is not the library it claims to be (edited, files
    added or lost). It is the library if it equals the one at the template commit the plugin records, or
    the dev kit's own checkout's when that has the same `__version__` (a render of a working tree); None
    also when there is nothing to compare with."""
    copy = plugin / LIBRARY
    if not (copy / "__init__.py").is_file():
        return None
    mine = _library_files(copy)
    claimed = _version(mine["__init__.py"])
    references = [r for r in (_recorded_library(plugin), _checkout_library(claimed)) if r is not None]
    if not references or mine in references:
        return None
    changed = min((_differing(mine, r) for r in references), key=len)
    return (
        f"endpoint_kit/ claims version {claimed} but differs from it in {', '.join(changed)}: "
        "a plugin does not edit its vendored library; `devkit update` puts the template's copy back"
    )


def _differing(mine: dict[str, str], reference: dict[str, str]) -> list[str]:
    return sorted(name for name in mine.keys() | reference.keys() if mine.get(name) != reference.get(name))


def _library_files(folder: Path) -> dict[str, str]:
    return {
        str(f.relative_to(folder)): f.read_text(errors="replace")
        for f in sorted(folder.rglob("*"))
        if f.is_file() and "__pycache__" not in f.parts
    }


def _version(init_text: str) -> str:
    found = re.search(r"^__version__ = [\"']([^\"']+)", init_text, re.MULTILINE)
    return found.group(1) if found else "(none)"


def _recorded_library(plugin: Path) -> dict[str, str] | None:
    """The library's files at the template commit in .copier-answers.yml, when that is a local git repo."""
    answers = plugin / ANSWERS
    if not answers.is_file():
        return None
    recorded = yaml.safe_load(answers.read_text()) or {}
    source, commit = recorded.get("_src_path"), str(recorded.get("_commit", ""))
    if not source or not Path(source).is_dir() or not _git(source, "rev-parse", "--verify", "--quiet", commit):
        return None
    names = _git(source, "ls-tree", "-r", "--name-only", commit, "--", LIBRARY).splitlines()
    return {name.removeprefix(f"{LIBRARY}/"): _git(source, "show", f"{commit}:{name}", strip=False) for name in names}


def _checkout_library(version: str) -> dict[str, str] | None:
    try:
        library = Path(template_source()) / LIBRARY
    except TemplateError:
        return None
    files = _library_files(library) if (library / "__init__.py").is_file() else {}
    return files if files and _version(files["__init__.py"]) == version else None
