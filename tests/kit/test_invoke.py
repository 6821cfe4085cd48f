"""Calling apps through the SDK's real invokers (a real Session), answered by the dev kit's demo apps."""

# dify_plugin monkey-patches with gevent on import; do it before anything else is imported.
import dify_plugin  # noqa: F401, I001

import json
import uuid

import pytest
from dify_plugin.core.utils.http_parser import deserialize_request

from devkit.demo_apps import DemoApps
from devkit.host import Host
from devkit.inprocess import answering, new_session
from devkit.storage import Storage
from endpoint_kit import (
    AppStream,
    EndpointError,
    Settings,
    app_fields,
    app_kind,
    app_parameters,
    app_response,
    endpoint,
    json_body,
    no_auth,
    run_app,
    sse_response,
    stream_app,
)
from endpoint_kit import _invoke


@pytest.fixture
def dify():
    """Dify as the demo apps answer it; `dify.host` can be changed (permissions, apps) before a call."""
    host = Host(DemoApps(), Storage())
    with answering(host):
        yield host


@pytest.fixture
def session(dify):
    return new_session()


def failure(call, *args, **kwargs) -> EndpointError:
    with pytest.raises(EndpointError) as caught:
        call(*args, **kwargs)
    return caught.value


def test_a_chat_stream_starts_with_its_first_event_already_there(session):
    stream = stream_app(session, "chat", "demo-chat", query="/tokens 3", inputs={"name": "Ann"})
    assert isinstance(stream, AppStream) and stream.first["event"] == "message"
    events = list(stream)
    assert events[0] == stream.first and [e["event"] for e in events] == ["message"] * 3 + ["message_end"]
    assert all(e["conversation_id"] == stream.first["conversation_id"] for e in events)


def test_a_blocking_chat_answer_continues_its_conversation(session):
    first = run_app(session, "chat", "demo-chat", query="hi")
    assert first["event"] == "message" and first["mode"] == "chat" and first["answer"]
    again = run_app(session, "chat", "demo-chat", query="again", conversation_id=first["conversation_id"])
    assert again["conversation_id"] == first["conversation_id"]
    unknown = failure(run_app, session, "chat", "demo-chat", query="x", conversation_id=str(uuid.uuid4()))
    assert (unknown.status, unknown.code) == (404, "not_found")


def test_an_agent_app_answers_blocking_calls_folded_from_its_stream(session):
    answer = run_app(session, "chat", "demo-agent", query="/moderate")
    assert answer["mode"] == "chat" and answer["answer"] == "Sorry, I can't talk about that."
    assert answer["id"] == answer["message_id"] and "usage" in answer["metadata"]


def test_a_chatflow_streams_workflow_events_with_its_conversation(session):
    stream = stream_app(session, "chat", "demo-chatflow", query="hi")
    assert stream.first["event"] == "workflow_started" and "conversation_id" in stream.first
    assert list(stream)[-1]["event"] == "message_end"


def test_workflows_stream_and_block(session):
    stream = stream_app(session, "workflow", "demo-workflow", inputs={"text": "hello"})
    assert stream.first["event"] == "workflow_started"
    assert list(stream)[-1]["event"] == "workflow_finished"
    answer = run_app(session, "workflow", "demo-workflow", inputs={"text": "hello"})
    assert answer["data"]["status"] == "succeeded" and answer["data"]["outputs"]


def test_completion_apps_fail_with_dify_and_work_where_dify_runs_them(session, dify):
    for call in (run_app, stream_app):
        error = failure(call, session, "completion", "demo-completion", inputs={"text": "x"})
        assert (error.status, error.code) == (501, "completion_apps_unsupported") and error.no_retry
    dify.apps = DemoApps(completion_works=True)
    answer = run_app(session, "completion", "demo-completion", inputs={"text": "x"})
    assert answer["mode"] == "completion" and "conversation_id" not in answer
    assert stream_app(session, "completion", "demo-completion", inputs={"text": "x"}).first["event"] == "message"


def test_any_mode_runs_whatever_the_app_is(session):
    assert app_kind(run_app(session, "any", "demo-workflow", inputs={"text": "t"})) == "workflow"
    assert app_kind(run_app(session, "any", "demo-chat", query="hi")) == "chat"
    assert app_kind(stream_app(session, "any", "demo-workflow", inputs={"text": "t"}).first) == "workflow"


def test_the_wrong_kind_of_app_is_the_service_apis_mode_error(session):
    # Dify runs a workflow called as chat (it dispatches by mode): the first event shows it, after the run.
    ran = failure(stream_app, session, "chat", "demo-workflow", query="x", inputs={"text": "t"})
    assert (ran.status, ran.code) == (400, "not_chat_app") and ran.app_may_have_run
    blocking = failure(run_app, session, "chat", "demo-workflow", query="x", inputs={"text": "t"})
    assert blocking.code == "not_chat_app" and blocking.app_may_have_run
    # A chat app called as a workflow fails before running: Dify's "missing query".
    refused = failure(run_app, session, "workflow", "demo-chat", inputs={})
    assert (refused.status, refused.code) == (400, "not_workflow_app") and not refused.app_may_have_run
    refused = failure(stream_app, session, "completion", "demo-chat", inputs={})
    assert (refused.status, refused.code) == (400, "app_unavailable")


@pytest.mark.parametrize("call", [run_app, stream_app])
def test_failures_before_the_first_event_keep_difys_status(session, call):
    missing = failure(call, session, "chat", "no-such-app", query="x")
    assert (missing.status, missing.code, missing.message) == (404, "app_not_found", "App not found.")
    bad_input = failure(call, session, "workflow", "demo-workflow", inputs={"text": "t", "count": "many"})
    assert (bad_input.status, bad_input.code) == (400, "invalid_param") and "count" in bad_input.message
    no_query = failure(call, session, "chat", "demo-chat")
    assert (no_query.status, no_query.message) == (400, "missing query")


def test_a_plugin_without_app_permission_is_told_so(session, dify):
    dify.app_permission = False
    error = failure(stream_app, session, "chat", "demo-chat", query="x")
    assert error.status == 500 and "not permitted to invoke apps" in error.message
    assert failure(app_parameters, session, "demo-chat").status == 500


def test_an_error_as_first_event_is_the_calls_error(session, dify):
    class ErrorFirst:
        def invoke(self, request):
            return iter([{"event": "error", "status": 400, "code": "completion_request_error", "message": "quota"}])

    dify.apps = ErrorFirst()
    error = failure(stream_app, session, "chat", "demo-chat", query="x")
    assert (error.status, error.code, error.message) == (400, "completion_request_error", "quota")
    assert error.app_may_have_run


def test_a_failure_after_the_first_event_ends_the_encoded_stream(session):
    stream = stream_app(session, "chat", "demo-chat", query="/fail during")
    events = list(stream)
    assert stream.first["event"] == "message" and events[-1]["event"] == "error"  # Dify's own event, unchanged
    crashed = stream_app(session, "chat", "demo-chat", query="/crash during")
    body = b"".join(sse_response(crashed).response)
    assert body.startswith(b'data: {"event":"message"') and body.endswith(b'"status":500}\n\n')


def test_a_silent_app_gets_a_stream_whose_first_event_is_checked_later(session, dify, monkeypatch):
    monkeypatch.setattr(_invoke, "KEEPALIVE_SECONDS", 0.05)
    dify.apps = DemoApps(token_delay=0.2)  # each token 0.2 s after the one before, the first one too
    stream = stream_app(session, "chat", "demo-chat", query="/tokens 2")
    assert stream.first is None
    assert [e["event"] for e in stream] == ["message", "message", "message_end"]
    late_mismatch = stream_app(session, "chat", "demo-workflow", query="x", inputs={"text": "/hang 1"})
    assert late_mismatch.first is None
    with pytest.raises(EndpointError, match="app mode"):
        list(late_mismatch)


def test_on_first_sees_the_first_event_and_its_failures_stay_quiet(session):
    seen = []
    stream_app(session, "chat", "demo-chat", query="hi", on_first=seen.append)
    run_app(session, "workflow", "demo-workflow", inputs={"text": "t"}, on_first=seen.append)
    assert [app_kind(e) for e in seen] == ["chat", "workflow"]

    def broken(first):
        raise OSError("storage down")

    assert run_app(session, "chat", "demo-chat", query="hi", on_first=broken)["answer"]

    def refusing(first):
        raise EndpointError(403, "forbidden", "no")

    assert failure(stream_app, session, "chat", "demo-chat", query="hi", on_first=refusing).status == 403


def test_a_known_app_mode_sharpens_difys_bare_500(session, dify):
    dify.apps = DemoApps(completion_works=False)
    # demo-completion fails with Dify's bare 500 whatever it is called as
    likely = failure(run_app, session, "any", "demo-completion", inputs={"text": "x"})
    assert likely.status == 501 and "If it is a Completion app" in likely.message
    known = failure(run_app, session, "any", "demo-completion", inputs={"text": "x"}, app_mode="workflow")
    assert known.status == 500 and "while running the app" in known.message and known.no_retry


def test_app_parameters(session):
    assert [f["text-input"]["variable"] for f in app_parameters(session, "demo-agent")["user_input_form"]] == ["name"]
    assert failure(app_parameters, session, "no-such-app").code == "app_not_found"


def test_an_unknown_mode_is_a_programming_error(session):
    with pytest.raises(ValueError, match="mode must be one of"):
        stream_app(session, "agent", "demo-agent", query="x")


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
    assert app_kind(event) == kind


class AppRoute:
    """A plugin's own route on the library alone: the app's failure is its status, else a stream."""

    session = new_session()

    @endpoint(auth=no_auth())
    def _invoke(self, r, values, settings: Settings):
        stream = stream_app(self.session, "chat", settings.app_id("app") or "", query=json_body(r)["query"])
        return app_response(r, stream)


def route_request(query, accept="text/event-stream"):
    body = json.dumps({"query": query}).encode()
    head = ["POST /ask HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}", f"Accept: {accept}"]
    return deserialize_request(("\r\n".join(head) + "\r\n\r\n").encode() + body)


@pytest.mark.usefixtures("dify")
def test_a_handler_answers_the_apps_failure_with_its_status_before_any_byte():
    ok = AppRoute()._invoke(route_request("hi"), {}, {"app": {"app_id": "demo-chat"}})
    assert ok.status_code == 200 and ok.mimetype == "text/event-stream"
    frames = [json.loads(f.removeprefix(b"data: ")) for f in b"".join(ok.response).split(b"\n\n") if f]
    assert frames[0]["event"] == "message" and frames[-1]["event"] == "message_end"
    missing = AppRoute()._invoke(route_request("hi"), {}, {"app": {"app_id": "no-such-app"}})
    assert (missing.status_code, missing.get_json()["code"]) == (404, "app_not_found")
    ndjson = AppRoute()._invoke(route_request("/tokens 2", "application/x-ndjson"), {}, {"app": "demo-chat"})
    lines = [json.loads(line) for line in b"".join(ndjson.response).splitlines()]
    assert [e["event"] for e in lines] == ["message", "message", "message_end"]


def test_app_fields_are_what_a_body_asks_of_an_app(session):
    body = {"query": "/tokens 2", "inputs": {"name": "Ann"}, "user": "u1", "conversation_id": None, "extra": 1}
    fields = app_fields(body)
    assert fields == {"query": "/tokens 2", "inputs": {"name": "Ann"}, "user": "u1"}
    assert run_app(session, "chat", "demo-chat", **fields)["answer"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "The body must be a JSON object."),
        ({"query": 5}, "query must be a string."),
        ({"inputs": "x"}, "inputs must be an object."),
        ({"conversation_id": ["c"]}, "conversation_id must be a string."),
    ],
)
def test_app_fields_of_the_wrong_type_are_the_callers_400(body, message):
    error = failure(app_fields, body)
    assert (error.status, error.code, error.message) == (400, "invalid_param", message)
