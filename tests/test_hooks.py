"""POST /hooks/<app_id> through the SDK's real dispatch: each sender's signed delivery runs the app once."""

import json
from urllib.parse import urlencode

import nacl.signing
import pytest

from devkit import webhooks as senders
from devkit.inprocess import raw_request
from tests.conftest import API_KEY

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # valid for every HMAC sender and Standard Webhooks
DISCORD_SEED = "11" * 32


def settings_for(provider, **extra):
    return {
        "api_key": API_KEY,
        "webhook_provider": provider,
        "webhook_secret": SECRET,
        "discord_public_key": senders.discord_public_key(DISCORD_SEED),
        **extra,
    }


@pytest.fixture
def hook(plugin):
    """hook(provider, app_id, body=None, event=None, headers=None, settings=None, path_suffix="") -> Reply."""

    def _hook(
        provider, app_id="demo-webhook", body=None, event=None, headers=None, settings=None, query="", signed=True
    ):
        sample, content_type = senders.sample(provider, event)
        body = sample if body is None else body
        secret = DISCORD_SEED if provider == "discord" else SECRET
        all_headers = {
            "Content-Type": content_type,
            **(senders.signed_headers(provider, body, secret, event) if signed else {}),
            **(headers or {}),
        }
        reply = plugin.dispatch(
            raw_request("POST", f"/hooks/{app_id}{query}", body, all_headers),
            settings if settings is not None else settings_for(provider),
        )
        reply.json = json.loads(reply.body) if reply.body else None
        return reply

    return _hook


@pytest.mark.parametrize("provider", senders.PROVIDERS)
def test_each_senders_signed_delivery_runs_the_app(hook, provider):
    reply = hook(provider)
    assert reply.status == 200, reply.body
    if provider == "slack":
        assert reply.json["response_type"] == "in_channel"
        assert reply.json["text"].startswith("event=/ask ")
    elif provider == "discord":
        assert reply.json["type"] == 4 and reply.json["data"]["content"].startswith("event=ask ")
    else:
        text = reply.json["outputs"]["text"]
        event = {
            "github": "issues",
            "stripe": "payment_intent.succeeded",
            "shopify": "orders/create",
            "standard": "invoice.paid",
        }[provider]
        assert text.startswith(f"event={event} action=")
        assert text.endswith(f"payload={len(senders.sample(provider)[0])} chars") or "payload=" in text


def test_top_level_fields_named_like_the_form_are_inputs(hook):
    reply = hook("github")  # the sample issue event has "action": "opened"
    assert "action=opened" in reply.json["outputs"]["text"]


def test_payload_with_fields_the_app_lacks_still_runs(hook):
    body = json.dumps({"action": {"nested": True}, "unknown": 1, "x" * 40: "y"}).encode()
    reply = hook("standard", body=body)
    assert reply.status == 200
    assert 'action={"nested": true}' in reply.json["outputs"]["text"]


@pytest.mark.parametrize(
    "mapping, expected",
    [
        ("action = issue.title", "action=Search ignores accents"),
        ("action = nothing.here", "action=opened"),  # matches nothing: the top-level field stays
        ("action = issue.number", "action=1347"),
        ("# a comment\n\naction = repository.full_name", "action=octo-org/pond"),
    ],
)
def test_webhook_inputs_map_payload_fields(hook, mapping, expected):
    reply = hook("github", settings=settings_for("github", webhook_inputs=mapping))
    assert expected in reply.json["outputs"]["text"]


def test_a_broken_mapping_is_a_configuration_error(hook):
    reply = hook("github", settings=settings_for("github", webhook_inputs="action = [unclosed"))
    assert reply.status == 503 and reply.json["code"] == "not_configured"
    reply = hook("github", settings=settings_for("github", webhook_inputs="no equals sign"))
    assert reply.status == 503 and "line 1" in reply.json["message"]


def test_chat_apps_get_the_senders_text_as_query(hook):
    slack = hook("slack", app_id="demo-chat")
    assert "You said: Hello from Slack" in slack.json["text"]
    discord = hook("discord", app_id="demo-chat")
    assert "You said: Hello from Discord" in discord.json["data"]["content"]
    github = hook("github", app_id="demo-chat")
    assert github.json["answer"].startswith("Hi there! You said: {") and github.json["conversation_id"]
    mapped = hook("github", app_id="demo-chat", settings=settings_for("github", webhook_inputs="query = issue.title"))
    assert "You said: Search ignores accents" in mapped.json["answer"]


def test_form_bodies_become_the_same_object(hook):
    reply = hook("slack", event="/summarise")
    assert reply.json["text"].startswith("event=/summarise ")


@pytest.mark.parametrize("provider", senders.PROVIDERS)
def test_wrong_and_missing_signatures_are_refused_and_run_nothing(hook, plugin, provider):
    conversations = len(plugin.host.apps.conversations)
    missing = hook(provider, app_id="demo-chat", signed=False)
    assert missing.status == 401 and missing.json["code"] == "unauthorized"
    wrong_settings = settings_for(
        provider,
        webhook_secret="whsec_" + "A" * 32,
        discord_public_key=nacl.signing.SigningKey(b"\x22" * 32).verify_key.encode().hex(),
    )
    wrong = hook(provider, app_id="demo-chat", settings=wrong_settings)
    assert wrong.status == 401 and provider in wrong.json["message"]
    assert len(plugin.host.apps.conversations) == conversations
    assert hook(provider, app_id="demo-chat").status == 200
    assert len(plugin.host.apps.conversations) == conversations + 1


@pytest.mark.parametrize("provider", ["stripe", "slack", "standard"])
def test_stale_timestamps_are_refused(hook, provider):
    body, _content_type = senders.sample(provider)
    headers = senders.signed_headers(provider, body, SECRET, now=1_600_000_000)
    reply = hook(provider, body=body, headers=headers, signed=False)
    assert reply.status == 401


def test_tampered_body_is_refused(hook):
    body, _ = senders.sample("github")
    headers = senders.signed_headers("github", body, SECRET)
    reply = hook("github", body=body + b" ", headers=headers, signed=False)
    assert reply.status == 401


def test_discord_ping_and_github_ping_answer_without_running(hook):
    assert hook("discord", event="ping").json == {"type": 1}
    reply = hook("github", event="ping")
    assert reply.status == 200 and reply.json["ran"] is False


def test_slack_url_verification_answers_the_challenge(hook):
    body = json.dumps(
        {"type": "url_verification", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", "token": "x"}
    ).encode()
    reply = hook("slack", body=body, headers={"Content-Type": "application/json"})
    assert reply.json == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}


def test_a_repeated_delivery_replays_the_first_answer_without_running(hook, plugin):
    body, _content_type = senders.sample("github")
    headers = senders.signed_headers("github", body, SECRET)
    first = hook("github", body=body, headers=headers, signed=False)
    again = hook("github", body=body, headers=headers, signed=False)
    assert first.status == again.status == 200
    assert again.headers.get("Idempotent-Replayed") == "true" and "Idempotent-Replayed" not in first.headers
    assert again.json == first.json
    other = hook("github")  # a new delivery id runs again
    assert "Idempotent-Replayed" not in other.headers


def test_a_repeated_webhook_id_header_cannot_dodge_the_replay_check(hook):
    """Standard Webhooks signs `webhook-id`: a second spelling of it must not make a replay look new (the SDK
    keeps the last of repeated headers, so the signature check and the delivery id read the same one)."""
    body, _ = senders.sample("standard")
    headers = senders.signed_headers("standard", body, SECRET)
    assert hook("standard", body=body, headers=headers, signed=False).status == 200
    again = hook("standard", body=body, headers={"Webhook-Id": "msg_fresh", **headers}, signed=False)
    assert again.status == 401 or again.headers.get("Idempotent-Replayed") == "true", again.body
    fresh_last = hook("standard", body=body, headers={**headers, "Webhook-Id": "msg_fresh"}, signed=False)
    assert fresh_last.status == 401, fresh_last.body


def test_another_endpoints_delivery_id_replays_nothing_of_its_answer(hook):
    """Every endpoint of the plugin in a workspace shares its storage: a delivery id seen by one endpoint
    must not hand its answer to a caller of another endpoint (another key) that repeats the id."""
    body, _ = senders.sample("github")
    headers = senders.signed_headers("github", body, SECRET)
    assert hook("github", body=body, headers=headers, signed=False).status == 200
    other = settings_for("github", api_key="another-endpoints-key", webhook_secret="another-secret")
    mine = json.dumps({"action": "mine"}).encode()
    reply = hook(
        "github",
        body=mine,
        signed=False,
        settings=other,
        headers={
            "Authorization": "Bearer another-endpoints-key",
            "X-GitHub-Event": "issues",
            "X-GitHub-Delivery": headers["X-GitHub-Delivery"],
        },
    )
    assert reply.status == 200 and "Idempotent-Replayed" not in reply.headers
    assert "action=mine" in reply.json["outputs"]["text"]


def test_a_retry_after_a_run_whose_record_storage_refused_runs_again_never_409(hook, plugin, monkeypatch):
    """The daemon's over-quota `set` stores the value, then fails, and leaves its 5-minute read cache
    (persistence.go Save): the delivery's "running" claim stays readable after the run is done."""
    from devkit.storage import Storage

    monkeypatch.setattr(plugin.host, "storage", Storage(quota=0))
    body, _ = senders.sample("standard")
    headers = senders.signed_headers("standard", body, SECRET)
    replies = [hook("standard", body=body, headers=headers, signed=False) for _ in range(3)]
    assert [reply.status for reply in replies] == [200, 200, 200], replies[1].body


def test_a_delivery_that_failed_runs_again_on_retry(hook):
    body = urlencode({"command": "/duck", "text": "/fail before", "trigger_id": "1.2.retry-me"}).encode()
    first = hook("slack", app_id="demo-chat", body=body)
    second = hook("slack", app_id="demo-chat", body=body)
    assert first.status == second.status >= 500  # 501: Dify's bare 500 on a route that runs any app
    assert "Idempotent-Replayed" not in second.headers
    ok = urlencode({"command": "/duck", "text": "fine", "trigger_id": "1.2.retry-me"}).encode()
    assert hook("slack", app_id="demo-chat", body=ok).status == 200
    assert hook("slack", app_id="demo-chat", body=ok).headers.get("Idempotent-Replayed") == "true"


def test_key_in_url_only_when_allowed(hook):
    unsigned = dict(signed=False, query=f"?key={API_KEY}")
    assert hook("github", settings=settings_for("github"), **unsigned).status == 401
    allowed = hook("github", settings=settings_for("github", allow_key_in_url=True), **unsigned)
    assert allowed.status == 200
    wrong = hook("github", settings=settings_for("github", allow_key_in_url=True), signed=False, query="?key=nope")
    assert wrong.status == 401


def test_the_api_key_header_works_without_a_provider(hook):
    reply = hook(
        "standard", signed=False, settings={"api_key": API_KEY}, headers={"Authorization": f"Bearer {API_KEY}"}
    )
    assert reply.status == 200
    assert hook("standard", signed=False, settings={"api_key": API_KEY}).status == 401


def test_provider_without_its_secret_is_a_configuration_error(hook):
    reply = hook("github", settings={"api_key": API_KEY, "webhook_provider": "github"})
    assert reply.status == 503 and "webhook_secret" in reply.json["message"]


@pytest.mark.parametrize(
    "body",
    [
        b"\xff\xfe",
        b'{"a": "\x00"}',
        b"",
        b"not json at all",
        b"[1, 2]",
        b"{" * 5000,
        b'{"text": "\\ud800"}',
        b'{"a": {"b": "x\\u0000y"}}',
        b'{"a": NaN}',
        b'{"a": 1e999}',
        b'{"a": ' + b"9" * 30 + b"}",
        b"[" * 5000 + b"]" * 5000,
    ],
)
@pytest.mark.parametrize("app_id", ["demo-webhook", "demo-chat", "demo-workflow"])
def test_bad_bodies_get_4xx_json_or_run(hook, body, app_id):
    reply = hook("standard", app_id=app_id, body=body)
    assert reply.status < 500 and isinstance(reply.json, dict), reply.body


@pytest.mark.parametrize("payload", [b"%5B" * 3000, b"%7B%22a%22%3A%22%5Cud800%22%7D", b"%5B%22%5Cu0000%22%5D"])
@pytest.mark.parametrize("app_id", ["demo-chat", "demo-workflow"])
def test_a_form_bodys_json_payload_field_never_gives_a_5xx(hook, payload, app_id):
    """Slack's interactive messages carry a JSON document in the `payload` form field."""
    reply = hook("slack", app_id=app_id, body=b"text=x&trigger_id=1.2.form&payload=" + payload)
    assert reply.status < 500 and isinstance(reply.json, dict), reply.body


def test_a_form_field_that_is_not_utf8_once_percent_decoded_is_refused(hook, plugin):
    """Not replaced by U+FFFD behind the caller's back: the app would get text the sender never sent."""
    conversations = len(plugin.host.apps.conversations)
    reply = hook("slack", app_id="demo-chat", body=b"text=caf%E9&trigger_id=1.2.latin1")
    assert (reply.status, reply.json["code"]) == (400, "invalid_param") and "UTF-8" in reply.json["message"]
    assert len(plugin.host.apps.conversations) == conversations


def test_unknown_and_malformed_app_ids(hook):
    assert hook("github", app_id="no-such-app").status == 404
    assert hook("github", app_id="bad%20id").status == 404


@pytest.fixture(scope="module")
def slack_runtime():
    """Duck behind the local runtime (stdio protocol), its /hooks set up for Slack."""
    from devkit.harness import Runtime

    running = Runtime("webhook_provider=slack", f"webhook_secret={SECRET}", delay_ms=0)
    yield running
    running.stop()


def test_devkit_webhook_send_posts_a_signed_delivery(slack_runtime):
    import subprocess
    import sys

    url = f"{slack_runtime.base_url}/hooks/demo-chat"
    sent = subprocess.run(
        [sys.executable, "-m", "devkit", "webhook", "send", "slack", url, "--secret", SECRET],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert sent.returncode == 0, sent.stderr
    assert sent.stdout.startswith("200\n") and '"response_type":"in_channel"' in sent.stdout
    refused = subprocess.run(
        [sys.executable, "-m", "devkit", "webhook", "send", "slack", url, "--secret", "wrong"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 1 and refused.stdout.startswith("401\n")


def test_a_repeat_while_the_first_still_runs_gets_409(slack_runtime):
    import concurrent.futures

    import httpx

    body = urlencode({"command": "/duck", "text": "/hang 2", "trigger_id": "9.9.concurrent"}).encode()
    url = f"{slack_runtime.base_url}/hooks/demo-chat"

    def post(delay):
        import time

        time.sleep(delay)
        headers = {"Content-Type": "application/x-www-form-urlencoded", **senders.signed_headers("slack", body, SECRET)}
        return httpx.post(url, content=body, headers=headers, timeout=30)

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        first, second = pool.submit(post, 0), pool.submit(post, 0.5)
        first, second = first.result(), second.result()
    assert first.status_code == 200 and "You said: /hang 2" in first.json()["text"]
    assert second.status_code == 409 and second.json()["code"] == "delivery_in_progress"
    third = post(0)
    assert third.status_code == 200 and third.headers["Idempotent-Replayed"] == "true"
    assert third.json() == first.json()


def test_the_dev_kit_warns_when_a_run_outlasts_the_senders_patience(slack_runtime):
    import httpx

    body = urlencode({"command": "/duck", "text": "/hang 4", "trigger_id": "9.9.slow"}).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded", **senders.signed_headers("slack", body, SECRET)}
    reply = httpx.post(f"{slack_runtime.base_url}/hooks/demo-chat", content=body, headers=headers, timeout=30)
    assert reply.status_code == 200
    assert "slack gives up after 3 s" in slack_runtime.output()
    assert slack_runtime.output().count("gives up after") == 1  # the quick deliveries above raised none


@pytest.mark.parametrize("key", ["0x" + "ab" * 32, "ab" * 31, "zz" * 32])
def test_a_malformed_discord_key_is_a_configuration_error(hook, key):
    reply = hook("discord", settings=settings_for("discord", discord_public_key=key))
    assert reply.status == 503 and "discord_public_key" in reply.json["message"]


def test_an_infinite_number_stays_text(hook):
    body = b'{"type": "x", "action": 1e999}'
    reply = hook("standard", body=body)
    assert reply.status == 200 and "action= payload=30 chars" in reply.json["outputs"]["text"]  # no infinity sent
