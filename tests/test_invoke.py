import pytest

from duck import dify_errors, invoke
from endpoint_kit import EndpointError


def embedded(status, code, message):
    return Exception(
        f"invoke app failed: request failed with status code: {status} and respond with: "
        f'{{"code": "{code}", "message": "{message}", "status": {status}}}'
    )


@pytest.mark.parametrize(
    "error, expect, answer",
    [
        (embedded(400, "invalid_param", "app not found"), "chat", (404, "app_not_found")),
        (Exception("app not found"), None, (404, "app_not_found")),
        (embedded(400, "invalid_param", "missing query"), "workflow", (400, "not_workflow_app")),
        (embedded(400, "invalid_param", "missing query"), "completion", (400, "app_unavailable")),
        (embedded(400, "invalid_param", "name is required in input form"), "chat", (400, "invalid_param")),
        (embedded(400, "invalid_param", "Conversation Not Exists."), "chat", (404, "not_found")),
        (embedded(429, "too_many_requests", "slow down"), "chat", (429, "too_many_requests")),
        (embedded(500, "unknown", "Internal Server Error"), "chat", (500, "internal_server_error")),
        (Exception("invocation exited without response after 250 seconds"), "chat", (504, "gateway_timeout")),
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
def test_dify_failures_become_service_api_errors(error, expect, answer):
    translated = dify_errors.dify_error(error, expect)
    assert (translated.status, translated.code) == answer
    assert "secret" not in translated.message


def test_input_validation_message_reaches_the_caller():
    assert (
        dify_errors.dify_error(embedded(400, "invalid_param", "n in input form must be a valid number"), "chat").message
        == "n in input form must be a valid number"
    )


@pytest.mark.parametrize(
    "event, kind",
    [
        ({"event": "message", "conversation_id": "c", "message_id": "m"}, "chat"),
        ({"event": "workflow_started", "conversation_id": "c", "workflow_run_id": "r"}, "chat"),
        ({"event": "workflow_started", "workflow_run_id": "r"}, "workflow"),
        ({"event": "message", "message_id": "m"}, "completion"),
        ({"event": "other"}, None),
    ],
)
def test_app_kind(event, kind):
    assert invoke.app_kind(event) == kind


def test_aggregate_handles_replacement_and_errors():
    events = iter(
        [
            {"event": "agent_message", "answer": "a", "message_id": "m", "conversation_id": "c"},
            {"event": "message_replace", "answer": "moderated"},
            {"event": "message_end", "metadata": {"usage": {}}},
        ]
    )
    result = invoke.aggregate(events)
    assert result["answer"] == "moderated" and result["id"] == "m" and result["metadata"] == {"usage": {}}
    with pytest.raises(EndpointError) as e:
        invoke.aggregate(iter([{"event": "error", "status": 400, "code": "x", "message": "m"}]))
    assert e.value.status == 400
