"""Auth policies: the key, a sender's signature, or anyone; an empty setting is a 503, never open."""

import hashlib
import hmac
import time

import pytest
from dify_plugin.core.utils.http_parser import deserialize_request

from endpoint_kit import EndpointError, Settings, key_auth, no_auth, signature_auth

SETTINGS = Settings({"api_key": "secret-key", "webhook_secret": "hook-secret", "token": "other"})


def request(headers=None, body=b""):
    head = ["POST /hook HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}"]
    head += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return deserialize_request(("\r\n".join(head) + "\r\n\r\n").encode() + body)


def refusal(policy, r, settings=SETTINGS) -> tuple[int, str, str]:
    with pytest.raises(EndpointError) as e:
        policy(r, settings)
    return e.value.status, e.value.code, e.value.message


@pytest.mark.parametrize(
    "headers",
    [{"Authorization": "Bearer secret-key"}, {"Authorization": "bearer  secret-key "}, {"X-API-Key": "secret-key"}],
)
def test_the_key_in_either_place(headers):
    assert key_auth()(request(headers), SETTINGS) is None


@pytest.mark.parametrize(
    "headers, message",
    [
        ({}, "Authorization header must be provided and start with 'Bearer'."),
        ({"Authorization": "Basic secret-key"}, "Access token is invalid."),
        ({"Authorization": "Bearer secret-kez"}, "Access token is invalid."),
        ({"Authorization": "Bearer wrong", "X-API-Key": "secret-key"}, "Access token is invalid."),
        ({"X-API-Key": ""}, "Access token is invalid."),
    ],
)
def test_key_refusals_are_the_service_apis_401(headers, message):
    with pytest.raises(EndpointError) as e:
        key_auth()(request(headers), SETTINGS)
    assert (e.value.status, e.value.code, e.value.message) == (401, "unauthorized", message)
    assert e.value.headers == {"WWW-Authenticate": 'Bearer realm="api"'}


def test_the_key_setting_is_named_by_the_route():
    assert key_auth("token")(request({"X-API-Key": "other"}), SETTINGS) is None
    assert refusal(key_auth("token"), request({"X-API-Key": "secret-key"}))[0] == 401


@pytest.mark.parametrize("raw", [{}, {"api_key": "  "}, {"api_key": None}, {"api_key": {"x": 1}}])
def test_an_empty_key_setting_is_503_not_open(raw):
    status, code, message = refusal(key_auth(), request({"Authorization": "Bearer "}), Settings(raw))
    assert (status, code) == (503, "not_configured") and "api_key" in message


def github_signed(body: bytes, secret: str = "hook-secret") -> dict:
    return {"X-Hub-Signature-256": "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()}


def test_a_senders_signature_over_the_raw_body():
    body = b'{"action": "opened"}'
    assert signature_auth("github")(request(github_signed(body), body), SETTINGS) is None
    status, code, message = refusal(signature_auth("github"), request(github_signed(body, "wrong"), body))
    assert (status, code) == (
        401,
        "unauthorized",
    ) and message == "The github signature was rejected: signature does not match."
    assert refusal(signature_auth("github"), request({}, body))[0] == 401


def test_slack_signs_a_time_too():
    body, ts = b"token=x&command=%2Fask", str(int(time.time()))
    mac = hmac.new(b"hook-secret", f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    headers = {"X-Slack-Signature": "v0=" + mac, "X-Slack-Request-Timestamp": ts}
    assert signature_auth("slack")(request(headers, body), SETTINGS) is None


def test_signature_settings_default_by_scheme_and_are_never_open():
    assert refusal(signature_auth("stripe"), request(), Settings({}))[:2] == (503, "not_configured")
    assert "discord_public_key" in refusal(signature_auth("discord"), request(), Settings({}))[2]
    assert "my_secret" in refusal(signature_auth("github", secret_setting="my_secret"), request(), SETTINGS)[2]


def test_a_malformed_discord_key_is_a_configuration_error():
    settings = Settings({"discord_public_key": "not hex"})
    assert refusal(signature_auth("discord"), request(), settings)[:2] == (503, "not_configured")


def test_an_unknown_scheme_fails_when_the_route_is_declared():
    with pytest.raises(ValueError, match="unknown signature scheme"):
        signature_auth("gitlab")


def test_no_auth_lets_anyone_in_without_settings():
    assert no_auth()(request(), Settings({})) is None


def test_the_admin_can_pick_the_sender_in_a_setting():
    body = b'{"action": "opened"}'
    policy = signature_auth(scheme_setting="webhook_sender")
    github = Settings({"webhook_sender": "github", "webhook_secret": "hook-secret"})
    assert policy(request(github_signed(body), body), github) is None
    stripe = Settings({"webhook_sender": "stripe", "webhook_secret": "hook-secret"})
    assert refusal(policy, request(github_signed(body), body), stripe)[0] == 401  # GitHub's header, Stripe picked
    unset = Settings({"webhook_secret": "hook-secret"})
    assert refusal(policy, request(github_signed(body), body), unset)[:3] == (
        503,
        "not_configured",
        "This endpoint's webhook_sender setting is empty; set it in Dify.",
    )
    unknown = Settings({"webhook_sender": "gitlab", "webhook_secret": "hook-secret"})
    status, code, message = refusal(policy, request(github_signed(body), body), unknown)
    assert (status, code) == (503, "not_configured") and message.startswith(
        "This endpoint's webhook_sender setting names no known sender; use one of: github, stripe"
    )
    no_secret = Settings({"webhook_sender": "github"})
    assert "webhook_secret" in refusal(policy, request(github_signed(body), body), no_secret)[2]


def test_a_policy_takes_a_scheme_or_a_setting_naming_one():
    for wrong in ({}, {"scheme": "github", "scheme_setting": "webhook_sender"}):
        with pytest.raises(ValueError, match="a scheme or a scheme_setting"):
            signature_auth(**wrong)
