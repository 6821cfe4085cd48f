"""Running a webhook delivery: who may send it, and running each delivery once.

Senders retry (on a timeout, a 5xx, or just because): the delivery id each sender repeats is
remembered in plugin storage for a day. A repeat gets the first answer again with
`Idempotent-Replayed: true` without running the app; a repeat that arrives while the first is still
running gets 409. Storage is bounded and best effort: when it cannot be written, deliveries still run.
"""

from __future__ import annotations

import hashlib
import time

from werkzeug import Request, Response

from duck import auth, invoke, webhooks
from duck.models import RunRequest
from duck.settings import DuckSettings
from endpoint_kit import (
    BoundedMap,
    EndpointError,
    Settings,
    app_parameters,
    json_bytes,
    json_response,
    key_matches,
    verify_signature,
)

REMEMBER_SECONDS = 24 * 3600
ABANDONED_SECONDS = 600  # the daemon ends any request after 600 s: a claim older than that never finishes
MAX_KEPT_ANSWER_BYTES = 4096  # 512 buckets x 8 deliveries x 4 KiB: at most 16 MiB of the plugin's quota


def hook_caller(request: Request, settings: Settings) -> None:
    """The policy of /hooks: the endpoint's key (header, or `?key=` when allowed) or Duck's signature,
    or else the configured sender's own signature."""
    duck = auth.configured(settings)
    if _key_in_url(request, duck):
        return
    try:
        auth.authenticate(request, duck)
        return
    except EndpointError:
        if not duck.webhook_provider:
            raise
    provider = duck.webhook_provider
    setting = "discord_public_key" if provider == "discord" else "webhook_secret"
    secret = duck.discord_public_key if provider == "discord" else duck.webhook_secret
    if not secret:
        raise EndpointError(503, "not_configured", f"webhook_provider is {provider} but {setting} is empty.")
    verify_signature(request, provider, secret, setting)


def run_once(session, app_id: str, delivery: webhooks.Delivery, settings: DuckSettings) -> Response:
    """Run the app for this delivery unless it already ran (or is running)."""
    memory = BoundedMap(session.storage, "webhook-deliveries", buckets=512, per_bucket=8, ttl_seconds=REMEMBER_SECONDS)
    # Scoped by the key's hash: every endpoint of the plugin in a workspace shares this storage, and a
    # delivery id (an unsigned header for GitHub and Shopify) must not replay another endpoint's answer.
    endpoint = hashlib.sha256(settings.api_key.encode()).hexdigest()
    key = f"{endpoint}\0{app_id}\0{delivery.provider}\0{delivery.delivery_id}"
    if delivery.delivery_id:
        earlier = memory.claim(key, {"state": "running", "at": int(time.time())})
        if earlier is not None and not _abandoned(earlier):
            return _repeat(earlier)
        if earlier is not None:
            memory.put(key, {"state": "running", "at": int(time.time())})
    try:
        answer = _run(session, app_id, delivery, settings)
    except BaseException:
        if delivery.delivery_id:
            memory.delete(key)  # a failed run is not remembered: the sender's retry runs it again
        raise
    if delivery.delivery_id:
        kept = answer if len(json_bytes(answer)) <= MAX_KEPT_ANSWER_BYTES else None
        if not memory.put(key, {"state": "done", "answer": kept}):
            # Over quota the daemon stores the value, then fails, and keeps serving the "running" claim from
            # its read cache (persistence.go Save): forget the delivery (a smaller write, which the quota
            # takes) so that a retry runs again rather than getting 409 for minutes.
            memory.delete(key)
    return json_response(answer)


def _run(session, app_id: str, delivery: webhooks.Delivery, settings: DuckSettings) -> dict:
    mappings = webhooks.parse_mappings(settings.webhook_inputs)
    form = app_parameters(session, app_id).get("user_input_form") or []
    body = RunRequest(
        query=webhooks.query_for(delivery, mappings),
        inputs=webhooks.inputs_for(delivery, form, mappings),
        response_mode="blocking",
    )
    result = invoke.run(session, app_id, body)
    assert isinstance(result, dict)  # blocking mode answers one dict
    data = result.get("data") if isinstance(result.get("data"), dict) else {}
    if data.get("status") == "failed":
        raise EndpointError(500, "app_failed", f"The app failed: {data.get('error') or 'no reason given'}.")
    text = result.get("answer") if "answer" in result else invoke.output_text(data.get("outputs") or {})
    return webhooks.answer_for(delivery.provider, result, str(text or ""))


def _repeat(earlier: dict) -> Response:
    if not isinstance(earlier, dict) or earlier.get("state") != "done":
        raise EndpointError(409, "delivery_in_progress", "This delivery is still running; it runs once.")
    answer = earlier.get("answer")
    if answer is None:
        answer = {"replayed": True, "note": "This delivery already ran; its answer was too large to keep."}
    return json_response(answer, headers={"Idempotent-Replayed": "true"})


def _abandoned(earlier: object) -> bool:
    return (
        isinstance(earlier, dict)
        and earlier.get("state") == "running"
        and time.time() - int(earlier.get("at") or 0) > ABANDONED_SECONDS
    )


def _key_in_url(request: Request, settings: DuckSettings) -> bool:
    return settings.allow_key_in_url and key_matches(request.args.get("key"), settings.api_key)
