"""Endpoint settings: the mapping Dify sends, read through typed accessors.

Dify sends each endpoint's settings loosely typed (text inputs as strings, selects as strings, booleans as
true/false or older "true"/"1", an app-selector as {"app_id": ...} or a bare string, and missing keys for
settings never saved). Each accessor reads one setting by name and never raises: a value it cannot read
counts as unset. So a plugin adds a setting by declaring it in its provider YAML and reading it here.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from endpoint_kit._ids import canonical_id


class Settings:
    """The raw settings of one endpoint, and how the plugin runs (`runtime`: local, remote or serverless)."""

    def __init__(self, raw: Mapping[str, Any] | None, runtime: str = "local"):
        self.raw: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
        self.runtime = runtime

    def __repr__(self) -> str:  # names only: values may be secrets
        return f"Settings(runtime={self.runtime!r}, names={sorted(self.raw)!r})"

    def text(self, name: str, default: str = "") -> str:
        """A text, secret or select setting, stripped; `default` when unset or not text."""
        return _text(self.raw.get(name)) or default

    def flag(self, name: str) -> bool:
        """A boolean setting: true, or "true", "1", "yes", "on" in any case."""
        value = self.raw.get(name)
        return value is True or _text(value).lower() in ("true", "1", "yes", "on")

    def number(self, name: str, default: int, minimum: int | None = None, maximum: int | None = None) -> int:
        """A whole number ("2048", 2048, "1e3", "1_000"); `default` when unset, unreadable or below
        `minimum`; at most `maximum`."""
        text = _text(self.raw.get(name)).replace("_", "")
        try:
            number = int(float(text)) if text else default
        except (ValueError, OverflowError):
            number = default
        if minimum is not None and number < minimum:
            number = default
        return min(number, maximum) if maximum is not None else number

    def choice(self, name: str, choices: Collection[str], default: str | None = None) -> str | None:
        """A select setting: one of `choices` (any collection of names), else `default` (when unset or unknown)."""
        text = self.text(name)
        return text if text in choices else default

    def items(self, name: str) -> tuple[str, ...]:
        """A list setting: a YAML list, or text separated by commas or white space; de-duplicated, in order."""
        value = self.raw.get(name)
        items = [_text(v) for v in value] if isinstance(value, list | tuple) else _text(value).replace(",", " ").split()
        return tuple(dict.fromkeys(item for item in items if item))

    def app_id(self, name: str) -> str | None:
        """An app-selector setting ({"app_id": ...} or a bare string): the app id, canonical; None when unset."""
        value = self.raw.get(name)
        if isinstance(value, Mapping):
            value = value.get("app_id")
        text = _text(value)
        return canonical_id(text) if text else None


def _text(value: object) -> str:
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, int | float | str):
        return str(value).strip()
    return ""
