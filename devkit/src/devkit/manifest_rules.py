"""The daemon's own manifest rules, beyond what the SDK's models check.

Two places in langgenius/dify-plugin-daemon refuse a manifest the SDK accepts:
- `dify plugin package` (pkg/plugin_packager/packager/file_scanner.go fetchManifest ->
  plugin_entities.UnmarshalPluginDeclarationFromYaml) runs the struct's `validate` tags:
  pkg/entities/plugin_entities/plugin_declaration.go (PluginDeclarationWithoutAdvancedFields,
  PluginMeta, PluginRunner, PluginResourceRequirement, PluginExtensions), basic_type.go (I18nObject),
  manifest_entities/version.go (`version`), manifest_entities/tags.go (`plugin_tag`),
  constants/arch.go and constants/language.go.
- installing (internal/core/plugin_manager/packages.go PreparePackage) calls
  PluginDeclaration.ManifestValidate: author and name patterns, which extensions may be combined.
"""

from __future__ import annotations

import re
from typing import Any

AUTHOR = re.compile(r"^[a-z0-9_-]{1,64}$", re.ASCII)  # plugin_declaration.go AuthorRegex (lower case only)
NAME = re.compile(r"^[a-z0-9_-]{1,128}$", re.ASCII)  # plugin_declaration.go PluginNameRegex
VERSION = re.compile(r"^\d{1,4}(\.\d{1,4}){2}(-\w{1,16})?$", re.ASCII)  # manifest_entities/version.go
TAGS = {
    "search",
    "image",
    "videos",
    "weather",
    "finance",
    "design",
    "travel",
    "social",
    "news",
    "medical",
    "productivity",
    "education",
    "business",
    "entertainment",
    "utilities",
    "agent",
    "rag",
    "other",
    "trigger",
}
ARCHES = {"amd64", "arm64"}
EXTENSIONS = ("tools", "models", "endpoints", "agent_strategies", "datasources", "triggers")
STORAGE_BYTES = (1024, 1073741824)  # PluginPermissionStorageRequirement.Size min/max


def problems(manifest: dict[str, Any]) -> list[str]:
    """Every rule of the daemon's that this manifest breaks, in plain words."""
    found: list[str] = []
    meta = _dict(manifest.get("meta"))
    runner = _dict(meta.get("runner"))

    author = str(manifest.get("author") or "")
    if not AUTHOR.match(author):
        found.append(
            f"author {author!r}: the daemon accepts only lower-case letters, digits, _ and -, "
            "1 to 64 characters (^[a-z0-9_-]{1,64}$)"
        )
    name = str(manifest.get("name") or "")
    if not NAME.match(name):
        found.append(
            f"name {name!r}: the daemon accepts only lower-case letters, digits, _ and -, "
            "1 to 128 characters (^[a-z0-9_-]{1,128}$)"
        )
    for field, value in (("version", manifest.get("version")), ("meta.version", meta.get("version"))):
        if not VERSION.match(str(value or "")):
            found.append(
                f"{field} {value!r}: the daemon's packager wants three numbers, e.g. 0.1.0 "
                r"(\d{1,4}(\.\d{1,4}){2}(-\w{1,16})?)"
            )
    if manifest.get("type") != "plugin":
        found.append("type must be plugin")
    for field in ("label", "description"):
        text = str(_dict(manifest.get(field)).get("en_US") or "")
        if not text or len(text) >= 1024:
            found.append(f"{field}.en_US must be 1 to 1023 characters")
        for language, text in _dict(manifest.get(field)).items():
            if len(str(text)) >= 1024:
                found.append(f"{field}.{language} must be under 1024 characters")
    for field, limit in (("icon", 128), ("icon_dark", 128)):
        if len(str(manifest.get(field) or "")) > limit:
            found.append(f"{field} must be at most {limit} characters")
    if not _dict(manifest.get("resource")).get("memory"):
        found.append("resource.memory is required (bytes, not 0)")
    storage = _dict(_dict(_dict(manifest.get("resource")).get("permission")).get("storage"))
    if storage and not STORAGE_BYTES[0] <= _int(storage.get("size")) <= STORAGE_BYTES[1]:
        found.append(f"resource.permission.storage.size must be {STORAGE_BYTES[0]} to {STORAGE_BYTES[1]} bytes")
    arches = meta.get("arch")
    if not isinstance(arches, list) or not arches or not set(map(str, arches)) <= ARCHES:
        found.append(f"meta.arch {arches!r}: list amd64 and/or arm64")
    if runner.get("language") != "python":
        found.append("meta.runner.language must be python")
    if not runner.get("version") or len(str(runner.get("version"))) > 128:
        found.append("meta.runner.version is required (at most 128 characters)")
    if not runner.get("entrypoint") or len(str(runner.get("entrypoint"))) > 256:
        found.append("meta.runner.entrypoint is required (at most 256 characters)")
    unknown_tags = [t for t in manifest.get("tags") or [] if t not in TAGS]
    if unknown_tags:
        found.append(f"tags {unknown_tags}: the daemon knows only {', '.join(sorted(TAGS))}")
    found += _extension_problems(_dict(manifest.get("plugins")))
    return found


def _extension_problems(plugins: dict[str, Any]) -> list[str]:
    """ManifestValidate: at least one extension; only tools and endpoints may be combined."""
    declared = [kind for kind in EXTENSIONS if plugins.get(kind)]
    found = [
        f"plugins.{kind}: {path!r} is over 128 characters"
        for kind in declared
        for path in plugins[kind]
        if len(str(path)) > 128
    ]
    if not declared:
        found.append("plugins lists no extension: the daemon wants at least one of " + ", ".join(EXTENSIONS))
    elif len(declared) > 1 and set(declared) != {"tools", "endpoints"}:
        found.append(f"plugins combines {' and '.join(declared)}: the daemon allows only tools with endpoints")
    return found


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1
