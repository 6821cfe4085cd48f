"""Dify's app and conversation ids are Postgres `uuid` values: many spellings find the same row.

Upper case, braces, missing hyphens and the `urn:uuid:` form all name the same id to Dify, so a plugin
stores and compares one spelling only (lower case, hyphenated), whatever the caller sent.
"""

from __future__ import annotations

import uuid


def canonical_uuid(value: str) -> str | None:
    """The canonical spelling of a UUID in any form Python accepts; None when it is not one."""
    try:
        return str(uuid.UUID(value))
    except (ValueError, TypeError, AttributeError):
        return None


def canonical_id(value: str) -> str:
    """A UUID in canonical spelling; other ids (the dev kit's app slugs) unchanged."""
    return canonical_uuid(value) or value
