"""POST /v1/responses: input parsing, the event sequence through the SDK dispatch, and the official client."""

import json

import openai as openai_sdk
import pytest

from duck import openai_responses
from duck.openai_memory import Turn
from endpoint_kit import EndpointError


def request(**fields):
    return openai_responses.ResponsesRequest.model_validate({"model": "m", **fields})


def test_text_and_message_list_inputs_become_turns():
    assert openai_responses.parse_input(request(input="Hi", instructions="Be brief")) == (
        [Turn("system", "Be brief"), Turn("user", "Hi")],
        [],
    )
    items = [
        {"role": "developer", "content": "Rules"},
        {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": "a"}, {"type": "input_text", "text": "b"}],
        },
        {"role": "assistant", "content": [{"type": "output_text", "text": "c", "annotations": []}]},
        {"type": "item_reference", "id": "msg_1"},
        {"role": "user", "content": "d"},
    ]
    turns, references = openai_responses.parse_input(request(input=items))
    assert turns == [
        Turn("developer", "Rules"),
        Turn("user", "ab"),
        Turn("assistant", "c"),
        Turn("assistant", ""),
        Turn("user", "d"),
    ]
    assert references == [(3, "msg_1")]


@pytest.mark.parametrize(
    "fields, param",
    [
        ({"input": [{"type": "function_call_output", "call_id": "c", "output": "x"}]}, "input[0]"),
        ({"input": [{"role": "user", "content": [{"type": "input_image", "image_url": "x"}]}]}, "input[0].content[0]"),
        ({"input": [{"role": "robot", "content": "x"}]}, "input[0].role"),
        ({"input": [{"role": "user", "content": 3}]}, "input[0].content"),
        ({"input": [{"type": "item_reference"}]}, "input[0].id"),
        ({"input": "x", "tools": [{"type": "function", "name": "f"}]}, "tools"),
        ({"input": "x", "tool_choice": "required"}, "tool_choice"),
        ({"input": "x", "text": {"format": {"type": "json_schema", "name": "s", "schema": {}}}}, "text.format"),
        ({"input": "x", "background": True}, "background"),
        ({"input": "x", "prompt": {"id": "pmpt_123", "variables": {"city": "Paris"}}}, "prompt"),
    ],
)
def test_what_a_dify_app_cannot_do_is_refused_naming_the_parameter(fields, param):
    body = request(**fields)
    with pytest.raises(EndpointError) as e:
        openai_responses.refuse_unsupported(body)
        openai_responses.parse_input(body)
    assert e.value.status == 400 and e.value.param == param


def sse_events(body: bytes) -> list[tuple[str, dict]]:
    events = []
    for frame in body.decode().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in frame.splitlines() if not line.startswith(":"))
        if "data" in lines:
            events.append((lines.get("event"), json.loads(lines["data"])))
    return events


def test_streaming_sends_the_responses_event_sequence(call):
    reply = call("POST", "/v1/responses", {"model": "demo-chat", "input": "Hello", "stream": True})
    assert reply.status == 200 and reply.headers["Content-Type"] == "text/event-stream; charset=utf-8"
    events = sse_events(reply.body)
    kinds = [kind for kind, _ in events]
    assert kinds[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert kinds[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert set(kinds[4:-4]) == {"response.output_text.delta"}
    assert all(data["type"] == kind for kind, data in events)
    assert [data["sequence_number"] for _, data in events] == list(range(len(events)))
    completed = events[-1][1]["response"]
    text = "".join(data["delta"] for kind, data in events if kind == "response.output_text.delta")
    assert text == "Hi there! You said: Hello (turn 1)" == completed["output"][0]["content"][0]["text"]
    assert completed["status"] == "completed" and completed["id"].startswith("resp_")
    assert completed["usage"]["input_tokens"] == 12 and completed["usage"]["output_tokens"] > 0
    assert events[0][1]["response"]["id"] == completed["id"] and events[0][1]["response"]["status"] == "in_progress"


def test_a_failure_mid_stream_fails_the_response_as_a_server_error(call):
    reply = call("POST", "/v1/responses", {"model": "demo-chat", "input": "/fail during", "stream": True})
    kind, data = sse_events(reply.body)[-1]
    assert kind == "response.failed" and data["response"]["status"] == "failed"
    assert data["response"]["error"]["code"] == "server_error"
    assert "failed in the middle" in data["response"]["error"]["message"]


def test_errors_before_the_app_runs_are_openai_shaped(call):
    cases = [
        ({"model": "demo-chat"}, 400, "input"),
        ({"model": "ghost", "input": "x"}, 404, "model"),
        ({"model": "demo-chat", "input": "x", "previous_response_id": "resp_unknown"}, 404, "previous_response_id"),
        ({"model": "demo-chat", "input": [{"type": "item_reference", "id": "msg_unknown"}]}, 404, "input[0]"),
        ({"model": "demo-chat", "input": "x", "tools": [{"type": "web_search"}]}, 400, "tools"),
    ]
    for body, status, param in cases:
        reply = call("POST", "/v1/responses", body)
        error = json.loads(reply.body)["error"]
        assert reply.status == status and error["type"] == "invalid_request_error", body
        assert param in (error["param"] or error["message"]), (body, error)
    assert call("POST", "/v1/responses", body=b"{", headers={"Content-Type": "application/json"}).status == 400


@pytest.mark.parametrize("text", [{"format": "json"}, {"format": ["text"]}, {"format": 3}, {"format": {"type": ["x"]}}])
def test_a_text_format_that_is_not_an_object_is_a_400_naming_it(call, text):
    reply = call("POST", "/v1/responses", {"model": "demo-chat", "input": "x", "text": text})
    error = json.loads(reply.body)["error"]
    assert reply.status == 400 and error["param"] == "text.format", error


@pytest.fixture(scope="module")
def client(runtime):
    return openai_sdk.OpenAI(base_url=runtime.base_url + "/v1", api_key=runtime.api_key, max_retries=0, timeout=30)


def test_official_client_create_and_continue_with_previous_response_id(client):
    first = client.responses.create(model="demo-chat", input="One", user="ana")
    assert first.output_text == "Hi there! You said: One (turn 1)" and first.status == "completed"
    assert first.usage.input_tokens == 12 and first.usage.total_tokens == 12 + first.usage.output_tokens
    second = client.responses.create(model="demo-chat", input="Two", previous_response_id=first.id, user="ana")
    assert second.output_text.endswith("Two (turn 2)") and second.id != first.id
    # Somebody else naming the same response id does not reach ana's conversation.
    with pytest.raises(openai_sdk.NotFoundError):
        client.responses.create(model="demo-chat", input="Three", previous_response_id=first.id, user="eve")
    with pytest.raises(openai_sdk.NotFoundError):
        client.responses.create(model="demo-agent", input="x", previous_response_id=first.id, user="ana")


def test_official_client_stream_helper(client):
    with client.responses.stream(model="demo-chat", input=[{"role": "user", "content": "Streamed"}]) as stream:
        deltas = [event.delta for event in stream if event.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(deltas) == final.output_text == "Hi there! You said: Streamed (turn 1)"
    follow_up = client.responses.create(model="demo-chat", input="Again", previous_response_id=final.id)
    assert follow_up.output_text.endswith("(turn 2)")


def test_official_client_workflow_and_agent_apps(client):
    assert client.responses.create(model="demo-workflow", input="w").output_text == "Echo: w"
    assert client.responses.create(model="demo-agent", input="a").output_text.startswith("Hi there!")


def test_official_client_sees_a_failed_stream(client):
    with client.responses.stream(model="demo-chat", input="/fail during") as stream:
        kinds = [event.type for event in stream]
    assert kinds[-1] == "response.failed"


def test_official_client_sees_a_stream_that_fails_before_the_apps_first_event(client):
    """The app stays silent past the first-event wait (0.5 s here), then fails (the 3 s invocation timeout):
    the stream has started, and the client's helper still needs `response.created` before `response.failed`."""
    with client.responses.stream(model="demo-chat", input="/hang 8") as stream:
        events = list(stream)
    assert [events[0].type, events[-1].type] == ["response.created", "response.failed"]
    assert events[-1].response.id == events[0].response.id and events[-1].response.error.code == "server_error"
