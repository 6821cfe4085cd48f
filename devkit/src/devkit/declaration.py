"""The daemon's checks on the declaration a remote-debugging plugin sends, with the daemon's words.

Struct rules: the `validate` tags of `pkg/entities/plugin_entities/plugin_declaration.go` and `basic_type.go`
(go-playground/validator messages). Cross-field rules: `PluginDeclaration.ManifestValidate`.
Icons: `internal/core/plugin_manager/media_transport/assets.go` (`RemapAssets`).
"""

from __future__ import annotations

import re
from datetime import datetime

VERSION = re.compile(r"^\d{1,4}(\.\d{1,4}){1,3}(-\w{1,16})?$")  # pkg/validators: the `version` tag
AUTHOR = re.compile(r"^[a-z0-9_-]{1,64}$")
NAME = re.compile(r"^[a-z0-9_-]{1,128}$")
ROOT = "PluginDeclaration.PluginDeclarationWithoutAdvancedFields"
CATEGORIES = ("endpoint", "model", "tool", "agent_strategy", "datasource", "trigger")
EXCLUSIVE = (  # checked in this order
    ("model", "model and datasource, tool, endpoint, trigger, or agent_strategy cannot be provided at the same time"),
    (
        "agent_strategy",
        "agent_strategy and tool, model, endpoint, trigger, or datasource cannot be provided at the same time",
    ),
    (
        "datasource",
        "datasource and tool, model, endpoint, agent_strategy, or trigger cannot be provided at the same time",
    ),
    ("trigger", "trigger and tool, model, endpoint, or agent_strategy cannot be provided at the same time"),
)


def struct_errors(declaration: dict) -> str | None:
    """What UnmarshalJsonBytes[PluginDeclaration] reports, or None."""
    errors = []

    def fail(path: str, tag: str) -> None:
        field = path.rsplit(".", 1)[-1]
        errors.append(f"Key: '{ROOT}.{path}' Error:Field validation for '{field}' failed on the '{tag}' tag")

    def text(value: object) -> str:
        return value if isinstance(value, str) else ""

    version = text(declaration.get("version"))
    if not version:
        fail("Version", "required")
    elif not VERSION.match(version):
        fail("Version", "version")
    if not declaration.get("type"):
        fail("Type", "required")
    elif declaration["type"] != "plugin":
        fail("Type", "eq")
    if len(text(declaration.get("author"))) > 64:
        fail("Author", "max")
    name = text(declaration.get("name"))
    if not name:
        fail("Name", "required")
    elif len(name) > 128:
        fail("Name", "max")
    for key, field in (("label", "Label"), ("description", "Description")):
        if not text((declaration.get(key) or {}).get("en_US")):
            fail(f"{field}.EnUS", "required")
    icon = text(declaration.get("icon"))
    if not icon:
        fail("Icon", "required")
    elif len(icon) > 128:
        fail("Icon", "max")
    if len(text(declaration.get("icon_dark"))) > 128:
        fail("IconDark", "max")
    if not (declaration.get("resource") or {}).get("memory"):
        fail("Resource.Memory", "required")
    meta = declaration.get("meta") or {}
    meta_version = text(meta.get("version"))
    if not meta_version:
        fail("Meta.Version", "required")
    elif not VERSION.match(meta_version):
        fail("Meta.Version", "version")
    arch = meta.get("arch")
    if not arch:
        fail("Meta.Arch", "required")
    else:
        for i, item in enumerate(arch if isinstance(arch, list) else [arch]):
            if item not in ("amd64", "arm64"):
                fail(f"Meta.Arch[{i}]", "is_available_arch")
    runner = meta.get("runner") or {}
    if not runner.get("language"):
        fail("Meta.Runner.Language", "required")
    elif runner["language"] != "python":
        fail("Meta.Runner.Language", "is_available_language")
    for key, field, limit in (("version", "Version", 128), ("entrypoint", "Entrypoint", 256)):
        value = text(runner.get(key))
        if not value:
            fail(f"Meta.Runner.{field}", "required")
        elif len(value) > limit:
            fail(f"Meta.Runner.{field}", "max")
    if not _is_time(declaration.get("created_at")):
        fail("CreatedAt", "required")
    return "\n".join(errors) or None


def manifest_error(declaration: dict) -> str | None:
    """PluginDeclaration.ManifestValidate, or None."""
    if not AUTHOR.match(str(declaration.get("author") or "")):
        return "author must be alphanumeric and less than 64 characters: ^[a-z0-9_-]{1,64}$"
    if not NAME.match(str(declaration.get("name") or "")):
        return "plugin name must be alphanumeric and less than 128 characters: ^[a-z0-9_-]{1,128}$"
    present = [c for c in CATEGORIES if declaration.get(c) is not None]
    if not present:
        return "at least one of endpoint, model, tool, agent_strategy, trigger, or datasource must be provided"
    return next((message for category, message in EXCLUSIVE if category in present and len(present) > 1), None)


def icon_error(declaration: dict, assets: dict[str, bytes]) -> str | None:
    """RemapAssets for the plugin's own icons: each named file must have been sent as asset chunks."""
    for key, what in (("icon", "plugin icon"), ("icon_dark", "plugin dark icon")):
        name = declaration.get(key)
        if name and name not in assets:
            return f"file not found: {name}\nfailed to remap {what}"
    return None


def _is_time(value: object) -> bool:
    if not isinstance(value, str) or not value:
        return False
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).year > 1
    except ValueError:
        return False
