"""The local runtime's configuration: `devkit.toml` in the plugin folder, with working defaults."""

from __future__ import annotations

import secrets
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

CONFIG_FILE = "devkit.toml"  # its keys are listed in the README (the dev kit's Configuration)


@dataclass
class Config:
    hook_id: str = "duck-local"
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


def load_config(plugin_dir: Path, path: Path | None = None, overrides: dict | None = None) -> Config:
    """Read the config file if there is one, apply --setting overrides, fill in an API key."""
    file = path or plugin_dir / CONFIG_FILE
    raw = tomllib.loads(file.read_text()) if file.exists() else {}
    endpoint = raw.get("endpoint", {})
    dify = raw.get("dify", {})
    storage = raw.get("storage", {}).get("path")
    limits = raw.get("limits", {})
    demo = raw.get("demo", {})
    config = Config(
        hook_id=str(endpoint.get("hook_id", "duck-local")),
        settings={**endpoint.get("settings", {}), **(overrides or {})},
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
    )
    if not config.settings.get("api_key"):
        config.settings["api_key"] = "duck-" + secrets.token_urlsafe(18)
        config.key_generated = True
    return config


def parse_setting(text: str) -> tuple[str, object]:
    """`name=value` from the command line; `app=<id>` becomes the app-selector's dict shape."""
    name, sep, value = text.partition("=")
    if not sep:
        raise ValueError(f"--setting takes name=value, got {text!r}")
    return name, ({"app_id": value} if name == "app" and value else value)
