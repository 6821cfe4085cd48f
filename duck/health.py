"""What /health reports: that the plugin answers, and whether its storage still takes writes."""

from __future__ import annotations

import logging

logger = logging.getLogger("duck")

_PROBE_KEY = "duck-health-probe"
_PROBE = b"\0" * 1024  # room for about 16 more conversation records
_FULL = "greater than max storage size"  # the daemon's over-quota error (persistence.go, Save)


def storage_state(storage) -> str:
    """"ok", "full" (the quota refuses 1 KiB more) or "unavailable"; the probe is removed again."""
    try:
        storage.set(_PROBE_KEY, _PROBE)
        state = "ok"
    except Exception as e:
        state = "full" if _FULL in str(e) else "unavailable"
        logger.error("storage is %s: %s", state, e)
    try:
        storage.delete(_PROBE_KEY)  # the daemon stores an over-quota value before refusing it
    except Exception:
        pass  # nothing was stored
    return state


def report(name: str, version: str, storage) -> dict:
    state = storage_state(storage)
    return {"status": "ok" if state == "ok" else "degraded", "name": name, "version": version, "storage": state}
