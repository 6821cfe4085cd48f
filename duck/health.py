"""What /health reports: that the plugin answers, and whether its storage still takes writes."""

from __future__ import annotations

import logging
import time

from endpoint_kit import last_refusal

logger = logging.getLogger("duck")

FULL_FOR_SECONDS = 3600  # "full" while a write was refused for lack of quota within the last hour


def storage_state(storage) -> str:
    """ "ok", "full" (a write was refused for quota in the last hour) or "unavailable".

    It writes nothing: anyone may call /health, and a probe that the daemon refuses is stored but not
    accounted, so deleting it again would lower the quota account with every call (persistence.go).
    """
    try:
        refused_at = last_refusal(storage)
    except Exception as e:
        logger.error("storage is unavailable: %s", e)
        return "unavailable"
    return "full" if refused_at is not None and time.time() - refused_at < FULL_FOR_SECONDS else "ok"


def report(name: str, version: str, storage) -> dict:
    state = storage_state(storage)
    return {"status": "ok" if state == "ok" else "degraded", "name": name, "version": version, "storage": state}
