"""Deliveries from services that post their own payloads: GitHub, Stripe, Slack, Discord, Shopify and
Standard Webhooks senders. What each sends (event type, delivery id, the text to ask a chat app), how
its payload becomes an app's inputs, and the answer shape it expects back.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jmespath
import jmespath.exceptions
from werkzeug import Request
from werkzeug.datastructures import MultiDict

from endpoint_kit import EndpointError, check_tree, form_body, invalid_param, text_body

DISCORD_CONTENT_LIMIT = 2000  # characters in an interaction response's content
_TEXT_KINDS = ("text-input", "paragraph")


@dataclass(frozen=True)
class Delivery:
    provider: str
    raw: str  # the body as the sender posted it
    payload: Any  # the JSON body, or a form body as an object; None when the body is neither
    headers: Mapping[str, str]

    @property
    def event(self) -> str | None:
        """The sender's event type: X-GitHub-Event, Stripe's `type`, the Slack command, ..."""
        p = self.payload if isinstance(self.payload, dict) else {}
        found = {
            "github": self.headers.get("X-GitHub-Event"),
            "shopify": self.headers.get("X-Shopify-Topic"),
            "stripe": p.get("type"),
            "standard": p.get("type"),
            "slack": p.get("command") or _dig(p, "event", "type") or p.get("type"),
            "discord": _dig(p, "data", "name"),
        }.get(self.provider)
        return found if isinstance(found, str) and found else None

    @property
    def delivery_id(self) -> str | None:
        """What the sender keeps when it retries the same delivery."""
        p = self.payload if isinstance(self.payload, dict) else {}
        found = {
            "github": self.headers.get("X-GitHub-Delivery"),
            "shopify": self.headers.get("X-Shopify-Webhook-Id"),
            "standard": self.headers.get("webhook-id"),
            "stripe": p.get("id"),
            "discord": p.get("id"),
            "slack": p.get("event_id") or p.get("trigger_id"),
        }.get(self.provider)
        return found if isinstance(found, str) and found else None


def read(request: Request, provider: str) -> Delivery:
    """The delivery in a request: JSON or form-encoded bodies become the same kind of object."""
    raw = text_body(request)
    if "\x00" in raw:
        raise invalid_param("The request body must not contain NUL characters.")
    if request.mimetype == "application/x-www-form-urlencoded":
        payload: Any = _form(form_body(request))
    else:
        try:
            payload = json.loads(raw, parse_constant=_not_json, parse_float=_finite) if raw.strip() else None
        except (ValueError, RecursionError):
            payload = None
    check_tree(payload)  # what no app can receive (lone surrogates, NUL, huge integers) is a 400, as on every route
    return Delivery(provider, raw, payload, request.headers)


def handshake(delivery: Delivery) -> dict | None:
    """The answer to a sender's own check, given without running the app; None for real deliveries."""
    p = delivery.payload if isinstance(delivery.payload, dict) else {}
    if delivery.provider == "discord" and p.get("type") == 1:
        return {"type": 1}  # PING: Discord checks the URL with it when it is saved
    if delivery.provider == "github" and delivery.event == "ping":
        return {"ok": True, "event": "ping", "ran": False}
    if delivery.provider == "slack" and p.get("type") == "url_verification":
        return {"challenge": p.get("challenge")}
    return None


def parse_mappings(text: str | None) -> list[tuple[str, jmespath.parser.ParsedResult]]:
    """`webhook_inputs`: one `variable = JMESPath expression` a line; blank lines and # comments skipped."""
    mappings = []
    for number, line in enumerate((text or "").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        variable, equals, expression = line.partition("=")
        variable, expression = variable.strip(), expression.strip()
        if not equals or not variable.isidentifier() or not expression:
            raise _bad_setting(f"line {number} is not `variable = expression`")
        try:
            mappings.append((variable, jmespath.compile(expression)))
        except jmespath.exceptions.JMESPathError as e:
            raise _bad_setting(f"line {number}: {e}") from None
    return mappings


def inputs_for(delivery: Delivery, form: list, mappings: list) -> dict:
    """The app's inputs: `payload`, `event`, top-level fields named like form variables, then the
    mappings. Only variables the app's form declares are sent, each only when its type fits."""
    specs = _form_specs(form)
    candidates: dict[str, Any] = {}
    if isinstance(delivery.payload, dict):
        candidates.update({k: v for k, v in delivery.payload.items() if k in specs})
    candidates["payload"] = delivery.raw
    if delivery.event:
        candidates["event"] = delivery.event
    for variable, expression in mappings:
        value = _search(expression, delivery.payload)
        if variable != "query" and value is not None:  # a mapping that matches nothing changes nothing
            candidates[variable] = value
    inputs = {}
    for name, value in candidates.items():
        if name in specs:
            fitted = _fit(value, *specs[name])
            if fitted is not None:
                inputs[name] = fitted
    return inputs


def query_for(delivery: Delivery, mappings: list) -> str:
    """What a chat app is asked: a `query` mapping, Slack's text, Discord's first string option,
    else the whole payload."""
    for variable, expression in mappings:
        if variable == "query":
            value = _search(expression, delivery.payload)
            if value not in (None, ""):
                return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    p = delivery.payload if isinstance(delivery.payload, dict) else {}
    if delivery.provider == "slack" and isinstance(p.get("text"), str) and p["text"].strip():
        return p["text"]
    if delivery.provider == "discord":
        for option in _dig(p, "data", "options") or []:
            if isinstance(option, dict) and option.get("type") == 3 and isinstance(option.get("value"), str):
                return option["value"]
    return delivery.raw or "(empty delivery)"


def answer_for(provider: str, result: dict, text: str) -> dict:
    """The app's answer in the shape the sender expects, without Dify's metadata."""
    if provider == "slack":
        return {"response_type": "in_channel", "text": text}
    if provider == "discord":
        return {"type": 4, "data": {"content": text[:DISCORD_CONTENT_LIMIT]}}
    if "conversation_id" in result:
        return {"answer": result.get("answer", ""), "conversation_id": result.get("conversation_id")}
    data = result.get("data") if isinstance(result.get("data"), dict) else {}
    if "outputs" in data:
        return {"outputs": data.get("outputs") or {}}
    return {"answer": result.get("answer", text)}


def _form(fields: MultiDict[str, str]) -> dict:
    """A form body as an object: a repeated field becomes a list."""
    payload: dict[str, Any] = {key: values[0] if len(values) == 1 else values for key, values in fields.lists()}
    if isinstance(payload.get("payload"), str):  # Slack's interactive messages: a JSON document in a field
        with contextlib.suppress(ValueError, RecursionError):
            payload["payload"] = json.loads(payload["payload"], parse_constant=_not_json)
    return payload


def _not_json(constant: str) -> None:
    raise ValueError(f"{constant} is not JSON")  # NaN and Infinity: Python's json takes them, Dify's JSON does not


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):  # 1e999: Python reads infinity, which Dify's JSON cannot carry
        raise ValueError(f"{text} is out of range")
    return value


def _form_specs(form: list) -> dict[str, tuple[str, dict]]:
    specs = {}
    for entry in form or []:
        for kind, spec in (entry or {}).items() if isinstance(entry, dict) else []:
            if isinstance(spec, dict) and isinstance(spec.get("variable"), str):
                specs[spec["variable"]] = (kind, spec)
    return specs


def _fit(value: Any, kind: str, spec: dict) -> Any:
    """The value as the form's variable type takes it, or None to leave the variable out."""
    if value is None:
        return None
    if kind in _TEXT_KINDS:
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    if kind == "select":
        return value if isinstance(value, str) and value in (spec.get("options") or []) else None
    if kind == "number":
        return value if isinstance(value, int | float) and not isinstance(value, bool) else None
    if kind == "checkbox":
        return value if isinstance(value, bool) else None
    return None  # files and anything newer: never guessed from a payload


def _search(expression, payload: Any) -> Any:
    try:
        return expression.search(payload)
    except jmespath.exceptions.JMESPathError:
        return None


def _dig(value: Any, *keys: str) -> Any:
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _bad_setting(reason: str) -> EndpointError:
    return EndpointError(503, "not_configured", f"The endpoint's webhook_inputs setting is invalid: {reason}.")
