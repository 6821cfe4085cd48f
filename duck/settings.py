"""Duck's settings: endpoint_kit's Settings read into one typed object (for the auth policy, then the handler)."""

from __future__ import annotations

from dataclasses import dataclass

from endpoint_kit import (
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_UPLOAD_BYTES,
    SIGNATURE_SCHEMES,
    Settings,
    allowed_origins,
    canonical_id,
    max_body_bytes,
    max_upload_bytes,
)


@dataclass(frozen=True)
class DuckSettings:
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


def duck_settings(settings: Settings) -> DuckSettings:
    """Every setting Duck's provider YAML declares, typed; the size limits are the runtime's."""
    webhook_inputs = settings.raw.get("webhook_inputs")
    return DuckSettings(
        api_key=settings.text("api_key"),
        app_id=settings.app_id("app"),
        cors_allowed_origins=allowed_origins(settings),
        max_body_bytes=max_body_bytes(settings),
        max_upload_bytes=max_upload_bytes(settings),
        signing_secret=settings.text("signing_secret") or None,
        accept_body_only_signatures=settings.text("signature_scheme") == "v2_or_body_only",
        openai_models=tuple(dict.fromkeys(canonical_id(i) for i in settings.items("openai_models"))),
        openai_memory=settings.choice("openai_memory", ("last_message", "transcript")) or "auto",
        openai_input_variable=settings.text("openai_input_variable") or None,
        webhook_provider=settings.choice("webhook_provider", SIGNATURE_SCHEMES),
        webhook_secret=settings.text("webhook_secret") or None,
        discord_public_key=settings.text("discord_public_key") or None,
        # Kept as written: its lines are parsed (and refused with line numbers) where deliveries use them.
        webhook_inputs=webhook_inputs if isinstance(webhook_inputs, str) else None,
        allow_key_in_url=settings.flag("allow_key_in_url"),
    )
