"""OpenAI-compatible chat completions: units, the SDK dispatch path, and the official openai client."""

import json
from types import SimpleNamespace

import httpx
import openai as openai_sdk
import pytest

from devkit.harness import Runtime
from duck import openai, openai_chat, openai_memory
from duck.settings import DuckSettings
from endpoint_kit import EndpointError
from tests.conftest import API_KEY

KEY = DuckSettings(api_key="k")


def request(**fields):
    return openai_chat.ChatCompletionRequest.model_validate({"model": "m", **fields})


def test_model_resolution():
    assert openai.resolve_model("m", KEY) == "m"
    for settings in (DuckSettings(api_key="k", app_id="pinned"), DuckSettings(api_key="k", openai_models=("a", "b"))):
        with pytest.raises(EndpointError) as e:
            openai.resolve_model("m", settings)
        assert e.value.code == "app_not_found" and "'m'" in e.value.message


@pytest.mark.parametrize(
    "fields, param",
    [
        ({"n": 2}, "n"),
        ({"tools": [{"type": "function", "function": {"name": "f"}}]}, "tools"),
        ({"functions": [{"name": "f"}]}, "functions"),
        ({"tool_choice": "required"}, "tool_choice"),
        ({"logprobs": True}, "logprobs"),
        ({"top_logprobs": 3}, "logprobs"),
        ({"response_format": {"type": "json_object"}}, "response_format"),
        ({"modalities": ["audio"]}, "modalities"),
        ({"messages": [{"role": "tool", "content": "42", "tool_call_id": "c"}]}, "messages[0]"),
        (
            {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]},
            "messages[0].content",
        ),
    ],
)
def test_parameters_a_dify_app_cannot_honour_are_refused(fields, param):
    body = request(**{"messages": [{"role": "user", "content": "x"}], **fields})
    with pytest.raises(EndpointError) as e:
        openai_chat.refuse_unsupported(body)
    assert e.value.status == 400 and openai.error_body(e.value)["error"]["param"] == param


def test_harmless_parameters_pass():
    openai_chat.refuse_unsupported(
        request(
            messages=[{"role": "user", "content": "x"}],
            n=1,
            tool_choice="none",
            logprobs=False,
            response_format={"type": "text"},
            temperature=0.2,
        )
    )


def test_error_shape():
    response = openai.error_response(EndpointError(404, "app_not_found", "nope"))
    assert response.status_code == 404
    assert json.loads(response.get_data()) == {
        "error": {"message": "nope", "type": "invalid_request_error", "param": "model", "code": "model_not_found"}
    }
    assert json.loads(openai.error_response(EndpointError(401, "unauthorized", "x")).get_data())["error"]["code"] == (
        "invalid_api_key"
    )


def test_workflow_outputs_become_the_answer_when_nothing_streamed():
    answer = openai.Answer()
    finished = {
        "event": "workflow_finished",
        "workflow_run_id": "r",
        "data": {"outputs": {"summary": "done"}, "total_tokens": 7},
    }
    assert answer.text_of(finished) == "done"
    # A workflow reports a total only: it is not passed off as completion tokens.
    assert answer.usage == {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 7}


def test_usage_is_split_as_dify_reports_it():
    answer = openai.Answer()
    answer.text_of(
        {
            "event": "message_end",
            "conversation_id": "c",
            "message_id": "m",
            "metadata": {"usage": {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17}},
        }
    )
    assert answer.usage == {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17}


def chunks(reply):
    frames = [f for f in reply.body.split(b"\n\n") if f]
    assert frames[-1] == b"data: [DONE]"
    return [json.loads(f[6:]) for f in frames[:-1]]


def test_streaming_through_the_sdk_dispatch(call):
    reply = call(
        "POST",
        "/v1/chat/completions",
        {
            "model": "demo-chat",
            "stream": True,
            "stream_options": {"include_usage": True},
            "messages": [{"role": "user", "content": "Hello"}],
        },
    )
    assert reply.status == 200 and reply.headers["Content-Type"] == "text/event-stream; charset=utf-8"
    events = chunks(reply)
    assert events[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    text = "".join(e["choices"][0]["delta"].get("content", "") for e in events if e["choices"])
    assert text == "Hi there! You said: Hello (turn 1)"
    assert events[-2]["choices"][0]["finish_reason"] == "stop"
    assert events[-1]["choices"] == [] and events[-1]["usage"]["total_tokens"] > 0
    assert all(e["object"] == "chat.completion.chunk" and e["model"] == "demo-chat" for e in events)


def test_errors_are_openai_shaped(call):
    bad = call("POST", "/v1/chat/completions", {"model": "demo-chat", "messages": []})
    assert bad.status == 400 and json.loads(bad.body)["error"]["type"] == "invalid_request_error"
    missing = call("POST", "/v1/chat/completions", {"model": "ghost", "messages": [{"role": "user", "content": "x"}]})
    assert missing.status == 404 and json.loads(missing.body)["error"]["code"] == "model_not_found"
    unauthorized = call("GET", "/v1/models", headers={"Authorization": "Bearer nope"})
    assert unauthorized.status == 401 and json.loads(unauthorized.body)["error"]["code"] == "invalid_api_key"
    mid_stream = call(
        "POST",
        "/v1/chat/completions",
        {"model": "demo-chat", "stream": True, "messages": [{"role": "user", "content": "/fail during"}]},
    )
    # A model failing mid-answer is a server error for OpenAI clients, whatever status Dify gave it.
    assert chunks(mid_stream)[-1]["error"] == {
        "code": "completion_request_error",
        "type": "server_error",
        "param": None,
        "message": "[demo] The model failed in the middle of its answer.",
    }


def test_pinned_endpoint_refuses_other_models(call):
    settings = {"api_key": API_KEY, "app": {"app_id": "demo-chat"}}
    reply = call(
        "POST",
        "/v1/chat/completions",
        {"model": "demo-agent", "messages": [{"role": "user", "content": "x"}]},
        settings=settings,
    )
    assert reply.status == 404 and json.loads(reply.body)["error"]["code"] == "model_not_found"
    assert json.loads(call("GET", "/v1/models", settings=settings).body)["data"][0]["id"] == "demo-chat"


@pytest.fixture(scope="module")
def client(runtime):
    return openai_sdk.OpenAI(base_url=runtime.base_url + "/v1", api_key=runtime.api_key, max_retries=0, timeout=30)


def test_official_client_streams(client):
    stream = client.chat.completions.create(
        model="demo-chat",
        stream=True,
        stream_options={"include_usage": True},
        messages=[{"role": "user", "content": "Stream please"}],
    )
    parts, usage = [], None
    for chunk in stream:
        if chunk.choices:
            parts.append(chunk.choices[0].delta.content or "")
        if chunk.usage:
            usage = chunk.usage
    assert "".join(parts) == "Hi there! You said: Stream please (turn 1)"
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


def test_official_client_blocking_and_conversation(client):
    first = client.chat.completions.create(model="demo-chat", messages=[{"role": "user", "content": "One"}])
    assert first.model == "demo-chat" and first.choices[0].message.content.endswith("One (turn 1)")
    assert first.usage.total_tokens > 0
    conversation_id = first.model_extra["conversation_id"]
    second = client.chat.completions.create(
        model="demo-chat", messages=[{"role": "user", "content": "Two"}], metadata={"conversation_id": conversation_id}
    )
    assert second.choices[0].message.content.endswith("Two (turn 2)")


def test_official_client_models_agents_and_workflows(client):
    assert [m.id for m in client.models.list()] == [
        "demo-chat",
        "demo-agent",
        "demo-chatflow",
        "demo-workflow",
        "demo-completion",
        "demo-webhook",
    ]
    agent = client.chat.completions.create(model="demo-agent", messages=[{"role": "user", "content": "a"}])
    assert agent.choices[0].message.content.startswith("Hi there!")
    workflow = client.chat.completions.create(model="demo-workflow", messages=[{"role": "user", "content": "w"}])
    assert workflow.choices[0].message.content == "Echo: w"


def test_official_client_completion_app_fails_once_without_retries(runtime):
    """The SDK retries 5xx on its own unless told not to: x-should-retry: false keeps it to one request."""
    sent = []
    http = httpx.Client(event_hooks={"request": [sent.append]}, timeout=30)
    retrying = openai_sdk.OpenAI(
        base_url=runtime.base_url + "/v1", api_key=runtime.api_key, max_retries=2, http_client=http
    )
    with pytest.raises(openai_sdk.InternalServerError) as e:
        retrying.chat.completions.create(model="demo-completion", messages=[{"role": "user", "content": "c"}])
    assert e.value.status_code == 501 and e.value.body["code"] == "completion_apps_unsupported"
    assert len(sent) == 1


def test_official_client_errors(client):
    with pytest.raises(openai_sdk.NotFoundError):
        client.chat.completions.create(model="ghost", messages=[{"role": "user", "content": "x"}])
    with pytest.raises(openai_sdk.AuthenticationError):
        openai_sdk.OpenAI(base_url=str(client.base_url), api_key="wrong", max_retries=0).models.list()


def test_pinned_runtime_lists_one_model():
    running = Runtime("app=demo-chat")
    try:
        pinned = openai_sdk.OpenAI(base_url=running.base_url + "/v1", api_key=running.api_key, max_retries=0)
        assert [m.id for m in pinned.models.list()] == ["demo-chat"]
        with pytest.raises(openai_sdk.NotFoundError):
            pinned.chat.completions.create(model="demo-agent", messages=[{"role": "user", "content": "x"}])
    finally:
        running.stop()


MODERATED = [
    {"event": "message", "answer": "bad ", "conversation_id": "c", "message_id": "m"},
    {"event": "message", "answer": "words", "conversation_id": "c", "message_id": "m"},
    {"event": "message_replace", "answer": "Sorry, I cannot answer that.", "conversation_id": "c", "message_id": "m"},
    {"event": "message_end", "conversation_id": "c", "message_id": "m", "metadata": {"usage": {}}},
]


NO_MEMORY = SimpleNamespace(storage=None)  # a plan with nothing to remember never touches storage


def started(events):
    return openai.Run(iter(events), openai_memory.Plan("q", None, None))


def test_message_replace_replaces_the_answer_so_far():
    whole = openai_chat.blocking(NO_MEMORY, started(MODERATED), "m")
    assert whole["choices"][0]["message"]["content"] == "Sorry, I cannot answer that."
    assert whole["choices"][0]["finish_reason"] == "content_filter"
    workflow = [
        {"event": "text_chunk", "workflow_run_id": "r", "data": {"text": "bad"}},
        {"event": "text_replace", "workflow_run_id": "r", "data": {"text": "clean"}},
        {"event": "workflow_finished", "workflow_run_id": "r", "data": {"outputs": {"text": "clean"}}},
    ]
    assert openai_chat.blocking(NO_MEMORY, started(workflow), "w")["choices"][0]["message"]["content"] == "clean"
    # Streamed, sent text cannot be taken back: the replacement comes marked, and the finish says why.
    run = started(MODERATED)
    frames = [
        json.loads(f[6:])
        for f in b"".join(openai_chat.stream(NO_MEMORY, run, run.events, "m", False)).split(b"\n\n")
        if f and f != b"data: [DONE]"
    ]
    replaced = [f for f in frames if f.get("message_replace")]
    assert [f["choices"][0]["delta"]["content"] for f in replaced] == ["Sorry, I cannot answer that."]
    assert frames[-1]["choices"][0]["finish_reason"] == "content_filter"


def test_unknown_v1_paths_and_wrong_methods_are_openai_shaped(call):
    for method, path, status in [
        ("GET", "/v1/assistants", 404),
        ("POST", "/v1/embeddings", 404),
        ("GET", "/v1/models/a/b", 404),
        ("GET", "/v1/chat/completions", 405),
        ("PUT", "/v1/responses", 405),
        ("DELETE", "/v1/models/demo-chat", 405),
    ]:
        reply = call(method, path)
        error = json.loads(reply.body)["error"]
        assert reply.status == status and error["type"] == "invalid_request_error", (method, path)
        assert error["code"] == ("unknown_url" if status == 404 else "method_not_allowed")
    assert call("GET", "/v1/chat/completions").headers["Allow"] == "POST"


def test_legacy_completions_through_the_sdk_dispatch(call):
    reply = call("POST", "/v1/completions", {"model": "demo-chat", "prompt": "Hello"})
    body = json.loads(reply.body)
    assert reply.status == 200 and body["object"] == "text_completion" and body["id"].startswith("cmpl-")
    assert body["choices"][0]["text"] == "Hi there! You said: Hello (turn 1)" and body["usage"]["prompt_tokens"] == 12
    streamed = chunks(
        call(
            "POST",
            "/v1/completions",
            {"model": "demo-chat", "prompt": ["Hi"], "stream": True, "stream_options": {"include_usage": True}},
        )
    )
    assert "".join(c["choices"][0]["text"] for c in streamed if c["choices"]) == "Hi there! You said: Hi (turn 1)"
    assert streamed[-2]["choices"][0]["finish_reason"] == "stop" and streamed[-1]["usage"]["total_tokens"] > 0
    failed = chunks(call("POST", "/v1/completions", {"model": "demo-chat", "prompt": "/fail during", "stream": True}))
    assert failed[-1]["error"]["type"] == "server_error"
    for bad, param in [
        ({"prompt": "x", "n": 2}, "n"),
        ({"prompt": "x", "echo": True}, "echo"),
        ({"prompt": "x", "suffix": "y"}, "suffix"),
        ({"prompt": "x", "logprobs": 2}, "logprobs"),
        ({"prompt": ["a", "b"]}, None),
        ({"prompt": ""}, None),
        ({}, None),
    ]:
        reply = call("POST", "/v1/completions", {"model": "demo-chat", **bad})
        error = json.loads(reply.body)["error"]
        assert reply.status == 400 and error["param"] == param, bad


def test_model_retrieval(call):
    reply = call("GET", "/v1/models/demo-chat", settings={"api_key": API_KEY, "openai_models": "demo-chat"})
    body = json.loads(reply.body)
    assert reply.status == 200 and body["id"] == "demo-chat" and body["object"] == "model" and body["created"] > 0
    missing = call("GET", "/v1/models/ghost", settings={"api_key": API_KEY, "openai_models": "demo-chat"})
    assert missing.status == 404 and json.loads(missing.body)["error"]["code"] == "model_not_found"
    assert call("GET", "/v1/models/bad%20id").status == 404


def test_official_client_completions_and_model_retrieval(client):
    assert client.completions.create(model="demo-chat", prompt="P").choices[0].text.endswith("P (turn 1)")
    streamed = client.completions.create(model="demo-workflow", prompt="w", stream=True)
    assert "".join(chunk.choices[0].text for chunk in streamed if chunk.choices) == "Echo: w"
    model = client.models.retrieve("demo-chat")
    assert model.id == "demo-chat" and model.created > 1_700_000_000
    with pytest.raises(openai_sdk.NotFoundError):
        client.models.retrieve("ghost")


def test_official_client_keeps_memory_for_a_resent_history(client):
    history = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "First"}]
    for turn in (1, 2, 3):
        reply = client.chat.completions.create(model="demo-chat", messages=history, user="memory-test")
        answer = reply.choices[0].message.content
        assert answer.endswith(f"(turn {turn})"), answer
        history += [{"role": "assistant", "content": answer}, {"role": "user", "content": f"Next {turn}"}]
    assert answer.startswith("Hi there! You said: Next 2")
    # The same transcript under another user is a stranger's: a new conversation, which sees it whole.
    stranger = client.chat.completions.create(model="demo-chat", messages=history, user="someone-else")
    assert stranger.choices[0].message.content.endswith("(turn 1)")
    assert "user: First" in stranger.choices[0].message.content
