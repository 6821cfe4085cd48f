"""Dify's failures, worded as the daemon and Dify word them (shared/dify-real-behaviour.md), become EndpointErrors."""

import uuid

import httpx
import pytest

from endpoint_kit import EndpointError, dify_error, error_event, from_error_event
from endpoint_kit._dify_errors import app_error

DIFY_500 = (
    "invoke app failed: request failed with status code: 500 and respond with: "
    '{"message": "Internal Server Error", "code": "unknown", "status": 500}'
)
UNKNOWN_CONVERSATION = (
    "invoke app failed: request failed with status code: 400 and respond with: "
    '{"code": "invalid_param", "message": "", "status": 400}'
)


def embedded(status, code, message):
    return Exception(
        f"invoke app failed: request failed with status code: {status} and respond with: "
        f'{{"code": "{code}", "message": "{message}", "status": {status}}}'
    )


@pytest.mark.parametrize(
    "error, mode, answer",
    [
        (embedded(400, "invalid_param", "app not found"), "chat", (404, "app_not_found")),
        (Exception("fetch app failed: data is nil"), None, (404, "app_not_found")),
        (embedded(400, "invalid_param", "unexpected app type"), None, (404, "app_not_found")),
        (embedded(400, "invalid_param", "missing query"), "workflow", (400, "not_workflow_app")),
        (embedded(400, "invalid_param", "missing query"), "completion", (400, "app_unavailable")),
        (embedded(400, "invalid_param", "missing query"), "chat", (400, "invalid_param")),
        (embedded(400, "invalid_param", "name is required in input form"), "chat", (400, "invalid_param")),
        (embedded(400, "invalid_param", "Conversation Not Exists."), "chat", (404, "not_found")),
        (embedded(429, "too_many_requests", "slow down"), "chat", (429, "too_many_requests")),
        (embedded(500, "unknown", "Internal Server Error"), "chat", (500, "internal_server_error")),
        (Exception("invocation exited without response after 250 seconds"), "chat", (504, "gateway_timeout")),
        (httpx.ReadTimeout("timed out"), None, (504, "gateway_timeout")),
        (
            Exception("permission denied, you need to enable app access in plugin manifest"),
            None,
            (500, "internal_server_error"),
        ),
        (
            Exception("request failed with status code: 400 and respond with: {not json"),
            None,
            (500, "internal_server_error"),
        ),
        (Exception("something secret went wrong"), None, (500, "internal_server_error")),
        (Exception("read app failed: http: read on closed response body"), None, (504, "app_stream_timeout")),
        (Exception("read app failed: request failed: boom"), None, (500, "internal_server_error")),
    ],
)
def test_dify_failures_become_service_api_errors(error, mode, answer):
    translated = dify_error(error, mode)
    assert (translated.status, translated.code) == answer
    assert "secret" not in translated.message


def test_input_validation_message_reaches_the_caller():
    error = embedded(400, "invalid_param", "n in input form must be a valid number")
    assert dify_error(error, "chat").message == "n in input form must be a valid number"


def test_an_empty_refusal_is_an_unknown_conversation_only_when_one_was_named():
    conversation = str(uuid.uuid4())
    assert dify_error(Exception(UNKNOWN_CONVERSATION), "chat", conversation_id=conversation).status == 404
    plain = dify_error(Exception(UNKNOWN_CONVERSATION), "workflow")
    assert (plain.status, plain.message) == (400, "Dify refused the request without saying why.")


def test_timeouts_and_stream_cuts_say_the_app_may_have_run():
    assert dify_error(Exception("invocation exited without response")).app_may_have_run
    assert dify_error(Exception("read app failed: EOF")).app_may_have_run
    assert not dify_error(embedded(400, "invalid_param", "x is required in input form")).app_may_have_run


def test_difys_bare_500_from_an_app_call_is_most_likely_a_completion_app():
    certain = app_error(Exception(DIFY_500), "completion", blocking=True)
    assert (certain.status, certain.code) == (501, "completion_apps_unsupported")
    assert "If it is" not in certain.message and "Workflow app" in certain.message
    likely = app_error(Exception(DIFY_500), "workflow", blocking=True)
    assert likely.status == 501 and "If it is a Completion app" in likely.message
    assert app_error(Exception(DIFY_500), None, blocking=False, app_mode="completion").message == certain.message
    for blocking, where in [(True, "while running the app"), (False, "before starting the app")]:
        known = app_error(Exception(DIFY_500), "chat", blocking=blocking, app_mode="advanced-chat")
        assert known.status == 500 and where in known.message and known.app_may_have_run
    other = app_error(embedded(400, "invalid_param", "app not found"), "chat", blocking=True)
    assert other.code == "app_not_found"


def test_an_error_event_round_trips():
    event = {
        "event": "error",
        "conversation_id": "c",
        "code": "completion_request_error",
        "status": 400,
        "message": "m",
    }
    error = from_error_event(event)
    assert (error.status, error.code, error.message, error.app_may_have_run) == (
        400,
        "completion_request_error",
        "m",
        True,
    )
    assert error_event(error) == {"event": "error", "code": "completion_request_error", "message": "m", "status": 400}
    odd = from_error_event({"event": "error", "status": "teapot"})
    assert (odd.status, odd.code, odd.message) == (500, "unknown", "")
    assert isinstance(odd, EndpointError)
