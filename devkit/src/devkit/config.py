"""The local runtime's configuration: `devkit.toml` in the plugin folder, with working defaults."""

from __future__ import annotations

import secrets
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from devkit.demo_apps import BUILT_IN, DemoApp, declared_app

CONFIG_FILE = "devkit.toml"  # its keys are listed in docs/devkit.md (Configuration)


@dataclass
class Config:
    hook_id: str = "local"
    api_key_prefix: str = ""  # before a generated api_key
    try_command: str = ""  # a command for the banner; {base_url} and {api_key} are filled in
    settings: dict = field(default_factory=dict)
    token_delay_ms: float = 30.0
    dify_base_url: str | None = None
    dify_app_keys: dict[str, str] = field(default_factory=dict)
    storage_path: Path | None = None
    first_chunk_seconds: float = 300.0  # the daemon has none; an emulator must never leave a request hanging
    total_seconds: float = 600.0  # the daemon's PLUGIN_MAX_EXECUTION_TIMEOUT
    app_stream_seconds: float = 240.0  # the daemon's DIFY_BACKWARDS_INVOCATION_READ_TIMEOUT
    completion_works: bool = False  # real Dify cannot run completion apps for a plugin; emulate a fixed one
    idle_seconds: float = 60.0  # the daemon has none; nginx in front of Dify defaults to 60 s
    send_buffer_bytes: int = 65536  # the daemon's kernel autotunes it up to MiBs; 0 = the kernel's
    key_generated: bool = False
    declared: dict[str, dict] = field(default_factory=dict)  # the plugin's endpoint settings, by name
    demo_apps: list[DemoApp] = field(default_factory=list)  # [[demo.apps]]: beside the built-in ones


def load_config(plugin_dir: Path, path: Path | None = None, overrides: dict | None = None) -> Config:
    """Read the config file if there is one, apply --setting overrides, shape the settings as Dify sends
    them, fill in an API key. Raises ValueError for a setting the plugin does not declare."""
    file = path or plugin_dir / CONFIG_FILE
    raw = tomllib.loads(file.read_text()) if file.exists() else {}
    endpoint = raw.get("endpoint", {})
    dify = raw.get("dify", {})
    storage = raw.get("storage", {}).get("path")
    limits = raw.get("limits", {})
    demo = raw.get("demo", {})
    declared = declared_settings(plugin_dir)
    config = Config(
        hook_id=str(endpoint.get("hook_id", "local")),
        api_key_prefix=str(endpoint.get("api_key_prefix", "")),
        try_command=str(endpoint.get("try", "")),
        settings=dify_settings(declared, {**endpoint.get("settings", {}), **(overrides or {})}),
        token_delay_ms=float(demo.get("token_delay_ms", 30)),
        completion_works=bool(demo.get("completion_works", False)),
        dify_base_url=dify.get("base_url"),
        dify_app_keys={str(k): str(v) for k, v in dify.get("apps", {}).items()},
        storage_path=(plugin_dir / storage) if storage else None,
        first_chunk_seconds=float(limits.get("first_chunk_seconds", 300)),
        total_seconds=float(limits.get("total_seconds", 600)),
        app_stream_seconds=float(limits.get("app_stream_seconds", 240)),
        idle_seconds=float(limits.get("idle_seconds", 60)),
        send_buffer_bytes=int(limits.get("send_buffer_bytes", 65536)),
        declared=declared,
        demo_apps=demo_apps(demo.get("apps", [])),
    )
    if "api_key" in declared and not config.settings.get("api_key"):
        config.settings["api_key"] = config.api_key_prefix + secrets.token_urlsafe(18)
        config.key_generated = True
    return config


def demo_apps(tables: object) -> list[DemoApp]:
    """The `[[demo.apps]]` a plugin declares; ValueError for a malformed one or a name taken twice."""
    if not isinstance(tables, list):
        raise ValueError("[demo] apps must be an array of tables: [[demo.apps]]")
    apps = [declared_app(table if isinstance(table, dict) else {}) for table in tables]
    names = [app.app_id for app in apps]
    if taken := sorted({name for name in names if names.count(name) > 1 or name in BUILT_IN}):
        raise ValueError(f"[[demo.apps]]: the name {', '.join(taken)} is taken (built-in: {', '.join(BUILT_IN)})")
    return apps


def declared_settings(plugin_dir: Path) -> dict[str, dict]:
    """The `settings` of every endpoint group the manifest lists (plugins.endpoints), by name."""
    manifest = yaml.safe_load((plugin_dir / "manifest.yaml").read_text()) or {}
    declared: dict[str, dict] = {}
    for group in (manifest.get("plugins") or {}).get("endpoints") or []:
        for setting in (yaml.safe_load((plugin_dir / group).read_text()) or {}).get("settings") or []:
            declared[str(setting.get("name"))] = setting
    return declared


def declared_routes(plugin_dir: Path) -> list[tuple[str, str]]:
    """(method, path) of every endpoint the manifest's endpoint groups list, in their order."""
    manifest = yaml.safe_load((plugin_dir / "manifest.yaml").read_text()) or {}
    routes = []
    for group in (manifest.get("plugins") or {}).get("endpoints") or []:
        for file in (yaml.safe_load((plugin_dir / group).read_text()) or {}).get("endpoints") or []:
            spec = yaml.safe_load((plugin_dir / file).read_text()) or {}
            routes.append((str(spec.get("method", "")), str(spec.get("path", ""))))
    return routes


def dify_settings(declared: dict[str, dict], given: dict) -> dict:
    """The settings as Dify's endpoint form saves them and the daemon passes them on, decrypted.

    web/.../plugin-detail-panel/endpoint-modal.tsx starts from every declared `default` and turns
    booleans into booleans; model-modal/Form.tsx saves an app-selector as
    {app_id, inputs, files, type: "app-selector"} (app-selector/index.tsx). The daemon and Dify's
    decryption (api/core/tools/utils/encryption.py) change nothing but secret-input values.
    """
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise ValueError(
            f"the plugin declares no setting named {', '.join(unknown)}; "
            f"its settings are: {', '.join(declared) or '(none)'}"
        )
    settings = {name: spec["default"] for name, spec in declared.items() if spec.get("default") is not None}
    settings.update(given)
    for name, value in settings.items():
        kind = declared[name].get("type")
        if kind == "boolean" and isinstance(value, str | int):
            settings[name] = value in ("true", "1", "True") if isinstance(value, str) else value == 1
        elif kind == "app-selector" and value:
            chosen = {"app_id": value} if isinstance(value, str) else dict(value)
            settings[name] = {
                "app_id": chosen.get("app_id", ""),
                "inputs": chosen.get("inputs", {}),
                "files": chosen.get("files", []),
                "type": "app-selector",
            }
    return settings


def parse_setting(text: str) -> tuple[str, str]:
    """`name=value` from the command line (an app-selector takes the app id)."""
    name, sep, value = text.partition("=")
    if not sep:
        raise ValueError(f"--setting takes name=value, got {text!r}")
    return name, value
