"""Dify's real failures (as the daemon words them) become clear errors, through the real dispatch path."""

import json

import pytest

from devkit.errors import InvocationError
from devkit.storage import Storage
from tests.kit.test_dify_errors import DIFY_500, UNKNOWN_CONVERSATION  # the daemon's texts, written once

NO_APP = "fetch app failed: data is nil"


class FailingApps:
    """Dify as it really fails (shared/dify-real-behaviour.md): every call raises the daemon's text."""

    def __init__(self, text):
        self.text = text

    def invoke(self, request):
        raise InvocationError(self.text)

    def fetch_app(self, app_id):
        raise InvocationError(self.text)


@pytest.fixture
def dify_fails(plugin, monkeypatch):
    def use(text):
        monkeypatch.setattr(plugin.host, "apps", FailingApps(text))

    return use


def answer(reply):
    body = json.loads(reply.body)
    assert reply.headers["Content-Type"] == "application/json" and body["status"] == reply.status
    return reply.status, body["code"], body["message"]


@pytest.mark.parametrize("mode", ["streaming", "blocking"])
def test_completion_apps_fail_with_a_clear_501(call, dify_fails, mode):
    dify_fails(DIFY_500)
    status, code, message = answer(
        call("POST", "/apps/demo-completion/completion-messages", {"inputs": {"text": "x"}, "response_mode": mode})
    )
    assert (status, code) == (501, "completion_apps_unsupported")
    assert "Workflow app" in message and "cannot run Completion" in message


@pytest.mark.parametrize("body", [{"inputs": {"text": "x"}}, {"query": "x", "response_mode": "blocking"}])
def test_run_says_a_bare_500_is_likely_a_completion_app(call, dify_fails, body):
    dify_fails(DIFY_500)
    reply = call("POST", "/apps/demo-completion/run", body)
    status, code, message = answer(reply)
    assert (status, code) == (501, "completion_apps_unsupported") and "If it is a Completion app" in message
    assert reply.headers["x-should-retry"] == "false"


def test_openai_route_names_the_completion_limit_too(call, dify_fails):
    dify_fails(DIFY_500)
    reply = call(
        "POST", "/v1/chat/completions", {"model": "demo-completion", "messages": [{"role": "user", "content": "x"}]}
    )
    error = json.loads(reply.body)["error"]
    assert reply.status == 501 and error["code"] == "completion_apps_unsupported"
    assert reply.headers["x-should-retry"] == "false"


@pytest.mark.parametrize("mode, where", [("blocking", "while running the app"), ("streaming", "before starting")])
def test_a_bare_500_from_an_app_known_to_be_chat_keeps_a_useful_message(
    call, dify_fails, plugin, monkeypatch, mode, where
):
    monkeypatch.setattr(plugin.host, "storage", Storage())
    assert call("POST", "/apps/demo-chat/chat-messages", {"query": "x"}).status == 200  # its mode is learnt
    dify_fails(DIFY_500)
    for path in ("/apps/demo-chat/chat-messages", "/apps/demo-chat/run"):
        reply = call("POST", path, {"query": "x", "response_mode": mode})
        status, code, message = answer(reply)
        assert (status, code) == (500, "internal_server_error")
        assert where in message and "logs in Dify" in message and "contact support" not in message
        assert reply.headers["x-should-retry"] == "false"


def test_unknown_app_from_fetch_app_is_404(call, dify_fails):
    dify_fails(NO_APP)
    assert answer(call("GET", "/apps/0a6b2f3c-1d2e-4f50-8a9b-0c1d2e3f4a5b/parameters"))[:2] == (404, "app_not_found")


def test_empty_invalid_param_on_a_continued_conversation_is_404(call, dify_fails, plugin, monkeypatch):
    started = json.loads(
        call("POST", "/apps/demo-chat/chat-messages", {"query": "hi", "response_mode": "blocking"}).body
    )
    dify_fails(UNKNOWN_CONVERSATION)  # e.g. deleted in Dify since
    reply = call(
        "POST",
        "/apps/demo-chat/chat-messages",
        {"query": "again", "conversation_id": started["conversation_id"], "response_mode": "blocking"},
    )
    assert answer(reply)[:2] == (404, "not_found")
    # Without a conversation, the same empty refusal stays a 400 that says Dify gave no reason.
    assert answer(call("POST", "/apps/demo-workflow/workflows/run", {"inputs": {"text": "x"}})) == (
        400,
        "invalid_param",
        "Dify refused the request without saying why.",
    )


@pytest.mark.parametrize("conversation_id", ["abc", "1", "0a6b2f3c-1d2e-4f50-8a9b", "x" * 36, "urn:uuid:zz"])
def test_a_conversation_id_that_is_not_a_uuid_never_reaches_dify(call, dify_fails, conversation_id):
    dify_fails("Dify must not be called")  # it would answer 500 (the database refuses a non-UUID)
    reply = call("POST", "/apps/demo-chat/chat-messages", {"query": "x", "conversation_id": conversation_id})
    status, code, message = answer(reply)
    assert (status, code) == (400, "invalid_param") and message.startswith("conversation_id must be")


def test_timeouts_and_in_app_errors_forbid_client_retries(call, dify_fails):
    dify_fails("invocation exited without response after 250 seconds")
    reply = call("POST", "/apps/demo-chat/chat-messages", {"query": "x"})
    assert answer(reply)[:2] == (504, "gateway_timeout") and reply.headers["x-should-retry"] == "false"


def test_errors_before_the_app_runs_leave_retries_alone(call):
    assert "x-should-retry" not in call("POST", "/apps/demo-workflow/workflows/run", {"inputs": {}}).headers
    assert "x-should-retry" not in call("POST", "/apps/demo-chat/chat-messages", {"query": ""}).headers


def test_a_mode_mismatch_seen_after_the_run_forbids_retries(call, plugin, monkeypatch):
    monkeypatch.setattr(plugin.host, "storage", Storage())  # the app's mode not learnt yet (duck.app_modes)
    reply = call("POST", "/apps/demo-workflow/chat-messages", {"query": "x", "inputs": {"text": "t"}})
    assert answer(reply)[:2] == (400, "not_chat_app") and reply.headers["x-should-retry"] == "false"
    again = call("POST", "/apps/demo-workflow/chat-messages", {"query": "x", "inputs": {"text": "t"}})
    assert answer(again)[:2] == (400, "not_chat_app") and "x-should-retry" not in again.headers  # refused before


class ErrorFirstApps:
    def invoke(self, request):
        return iter([{"event": "error", "status": 400, "code": "completion_request_error", "message": "quota"}])


def test_an_error_event_first_forbids_retries(call, plugin, monkeypatch):
    monkeypatch.setattr(plugin.host, "apps", ErrorFirstApps())
    reply = call("POST", "/apps/demo-chat/chat-messages", {"query": "x"})
    assert answer(reply) == (400, "completion_request_error", "quota") and reply.headers["x-should-retry"] == "false"
