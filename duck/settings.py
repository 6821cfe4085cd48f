"""Endpoint settings as Dify sends them (loosely typed), parsed once into one typed object."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from endpoint_kit import EndpointError, canonical_id

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
DEFAULT_MAX_UPLOAD_BYTES = 8 * 1024 * 1024
WEBHOOK_PROVIDERS = ("github", "stripe", "slack", "discord", "shopify", "standard")

# What no accepted request may reach, per runtime (the SDK's INSTALL_METHOD, `session.install_method`):
# - The daemon kills a local plugin that writes a stdout line over 5 MiB (PLUGIN_RUNTIME_MAX_BUFFER_SIZE),
#   and the line that calls an app carries the body's text: twice on the OpenAI route (the query and
#   `openai_input_variable`). JSON text never grows when it is written again (control characters are
#   already escaped in a JSON body), so a body of half the line, less room for the envelope, is safe.
# - The daemon truncates request bodies at 10 MiB; uploads go on to Dify over HTTP, not on that line.
# - Serverless: the daemon refuses a request whose message passes MAX_SERVERLESS_REQUEST_BYTES (5 MiB)
#   after hex encoding, which doubles the raw HTTP request (`internal/core/serverless_runtime/io.go`).
_LINE_LIMIT = 5 * 1024 * 1024
_ENVELOPE = 64 * 1024  # headers, settings and JSON around the text; also the multipart framing
MAX_BODY_BYTES_CEILING = 10 * 1024 * 1024
_BODY_CEILING = (_LINE_LIMIT - _ENVELOPE) // 2
_SERVERLESS_CEILING = _LINE_LIMIT // 2 - _ENVELOPE
CEILINGS = {  # runtime -> (max_body_bytes, max_upload_bytes)
    "local": (_BODY_CEILING, MAX_BODY_BYTES_CEILING - _ENVELOPE),
    "remote": (_BODY_CEILING, MAX_BODY_BYTES_CEILING - _ENVELOPE),
    "serverless": (_SERVERLESS_CEILING, _SERVERLESS_CEILING - _ENVELOPE),
}


@dataclass(frozen=True)
class Settings:
    api_key: str
    app_id: str | None = None
    cors_allowed_origins: tuple[str, ...] = ()
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    signing_secret: str | None = None
    accept_body_only_signatures: bool = False
    openai_models: tuple[str, ...] = ()
    openai_memory: str = "auto"
    openai_input_variable: str | None = None
    webhook_provider: str | None = None
    webhook_secret: str | None = None
    discord_public_key: str | None = None
    webhook_inputs: str | None = None
    allow_key_in_url: bool = False


def parse_settings(raw: Mapping | None, runtime: str = "local", require_key: bool = True) -> Settings:
    """Build Settings from the raw mapping, with the size limits of `runtime` (local, remote, serverless).

    A missing API key is a configuration error unless `require_key` is False.
    """
    raw = raw if isinstance(raw, Mapping) else {}
    api_key = _text(raw.get("api_key"))
    if not api_key and require_key:
        raise EndpointError(503, "not_configured", "This endpoint has no API key configured.")
    body_ceiling, upload_ceiling = CEILINGS.get(runtime, CEILINGS["local"])
    return Settings(
        api_key=api_key,
        app_id=_app_id(raw.get("app")),
        cors_allowed_origins=tuple(dict.fromkeys(o.rstrip("/") for o in _list(raw.get("cors_allowed_origins")))),
        max_body_bytes=_byte_count(raw.get("max_body_bytes"), DEFAULT_MAX_BODY_BYTES, body_ceiling),
        max_upload_bytes=_byte_count(raw.get("max_upload_bytes"), DEFAULT_MAX_UPLOAD_BYTES, upload_ceiling),
        signing_secret=_text(raw.get("signing_secret")) or None,
        accept_body_only_signatures=_text(raw.get("signature_scheme")) == "v2_or_body_only",
        openai_models=tuple(dict.fromkeys(canonical_id(i) for i in _list(raw.get("openai_models")))),
        openai_memory=_choice(raw.get("openai_memory"), ("last_message", "transcript")) or "auto",
        openai_input_variable=_text(raw.get("openai_input_variable")) or None,
        webhook_provider=_choice(raw.get("webhook_provider"), WEBHOOK_PROVIDERS),
        webhook_secret=_text(raw.get("webhook_secret")) or None,
        discord_public_key=_text(raw.get("discord_public_key")) or None,
        webhook_inputs=raw.get("webhook_inputs") if isinstance(raw.get("webhook_inputs"), str) else None,
        allow_key_in_url=_flag(raw.get("allow_key_in_url")),
    )


def _choice(value: object, choices: tuple[str, ...], default: str | None = None) -> str | None:
    """A select setting: one of `choices`, else `default` (when unset or unknown)."""
    text = _text(value)
    return text if text in choices else default


def _flag(value: object) -> bool:
    """A boolean setting: Dify sends true/false, older forms "true"/"1"."""
    return value is True or _text(value).lower() in ("true", "1", "yes", "on")


def _text(value: object) -> str:
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, int | float | str):
        return str(value).strip()
    return ""


def _app_id(value: object) -> str | None:
    """The app-selector arrives as {"app_id": ...}, as a bare string, or empty."""
    if isinstance(value, Mapping):
        value = value.get("app_id")
    text = _text(value)
    return canonical_id(text) if text else None


def _list(value: object) -> tuple[str, ...]:
    """A list setting: a YAML list, or text separated by commas or white space; de-duplicated."""
    items = [_text(v) for v in value] if isinstance(value, list | tuple) else _text(value).replace(",", " ").split()
    return tuple(dict.fromkeys(item for item in items if item))


def _byte_count(value: object, default: int, ceiling: int) -> int:
    text = _text(value).replace("_", "")
    try:
        number = int(float(text)) if text else default
    except (ValueError, OverflowError):
        number = default
    return min(number if number > 0 else default, ceiling)
