"""The demo apps as a plugin meets them: the SDK's own invokers, answered by the dev kit's Host."""

import contextlib
import functools
import json
import uuid
from pathlib import Path

import httpx
import pytest

from devkit.config import load_config
from devkit.demo_apps import MODERATED_ANSWER, DemoApps
from devkit.harness import Runtime
from devkit.host import Host
from devkit.inprocess import answering, new_session
from devkit.storage import Storage

INTERNAL_500 = (
    "invoke app failed: request failed with status code: 500 and respond with: "
    '{"message": "Internal Server Error", "code": "unknown", "status": 500}\n'
)


def invalid_param(message: str) -> str:
    body = json.dumps({"code": "invalid_param", "message": message, "status": 400})
    return f"invoke app failed: request failed with status code: 400 and respond with: {body}\n"


@contextlib.contextmanager
def sdk(host: Host | None = None):
    """A real SDK Session whose reverse invocations the Host answers (default: the demo apps)."""
    with answering(host or Host(DemoApps(), Storage())):
        yield new_session()


def failure(call) -> str:
    with pytest.raises(Exception) as e:
        result = call()
        if not isinstance(result, dict):
            list(result)
    return str(e.value)


@pytest.mark.parametrize(
    "invoke",
    [
        lambda s: s.app.completion.invoke("demo-completion", {"text": "x"}, "blocking"),
        lambda s: s.app.completion.invoke("demo-completion", {"text": "x"}, "streaming"),
        lambda s: s.app.chat.invoke("demo-completion", "hello", {"text": "x"}, "blocking"),
        lambda s: s.app.workflow.invoke("demo-completion", {"text": "x"}, "streaming"),
    ],
    ids=["completion-blocking", "completion-streaming", "chat-invoker", "workflow-invoker"],
)
def test_completion_apps_fail_from_a_plugin_whatever_invoker(invoke):
    with sdk() as session:
        assert failure(lambda: invoke(session)) == INTERNAL_500


def test_completion_works_option_emulates_a_fixed_dify():
    with sdk(Host(DemoApps(completion_works=True), Storage())) as session:
        answer = session.app.completion.invoke("demo-completion", {"text": "ducks"}, "blocking")
    assert answer["answer"] == "A short note about ducks." and answer["mode"] == "completion"
    assert "conversation_id" not in answer


def test_fetch_app_of_an_unknown_app():
    with sdk() as session:
        assert session.app.fetch_app("demo-chat")["opening_statement"] == "Hello! Ask me anything."
        assert failure(lambda: session.app.fetch_app("nope")) == "fetch app failed: data is nil"


def test_unknown_and_malformed_conversations():
    with sdk() as session:
        first = session.app.chat.invoke("demo-chat", "one", {}, "blocking")
        spelled = str(uuid.UUID(first["conversation_id"])).upper()  # a Postgres uuid column: same row
        second = session.app.chat.invoke("demo-chat", "two", {}, "blocking", spelled)
        assert second["conversation_id"] == first["conversation_id"] and second["answer"].endswith("(turn 2)")
        unknown = str(uuid.uuid4())
        assert failure(lambda: session.app.chat.invoke("demo-chat", "x", {}, "blocking", unknown)) == invalid_param("")
        other_app = functools.partial(
            session.app.chat.invoke, "demo-chatflow", "x", {}, "blocking", first["conversation_id"]
        )
        assert failure(other_app) == invalid_param("")
        assert failure(lambda: session.app.chat.invoke("demo-chat", "x", {}, "blocking", "nope")) == INTERNAL_500


def test_a_blocking_run_that_fails_inside_the_app_is_a_500():
    with sdk() as session:
        assert failure(lambda: session.app.chat.invoke("demo-chat", "/fail during", {}, "blocking")) == INTERNAL_500
        assert failure(lambda: session.app.chat.invoke("demo-chat", "/crash during", {}, "blocking")) == INTERNAL_500
        events = list(session.app.chat.invoke("demo-chat", "/fail during", {}, "streaming"))
    assert events[-1]["event"] == "error" and events[-1]["code"] == "completion_request_error"


@pytest.mark.parametrize(
    "app, query, inputs, message",
    [
        ("demo-chat", "q", {"name": 5}, "(type 'text-input') name in input form must be a string"),
        ("demo-chat", "q", {"tone": ["formal"]}, "(type 'select') tone in input form must be a string"),
        ("demo-chat", "q", {"tone": "rude"}, "tone in input form must be one of the following: ['friendly', 'formal']"),
        ("demo-chat", "q", {"name": "n" * 49}, "name in input form must be less than 48 characters"),
        ("demo-chat", "q", {"attachment": "https://x"}, "attachment in input form must be a file"),
        ("demo-workflow", None, {}, "text is required in input form"),
        ("demo-workflow", None, {"text": None}, "text is required in input form"),
        ("demo-workflow", None, {"text": "t", "count": "many"}, "count in input form must be a valid number"),
        ("demo-chat", "", {"name": 5}, "missing query"),  # the query is checked before the inputs
    ],
)
def test_input_form_errors_use_difys_wording(app, query, inputs, message):
    with sdk() as session:
        if query is None:
            call = functools.partial(session.app.workflow.invoke, app, inputs, "blocking")
        else:
            call = functools.partial(session.app.chat.invoke, app, query, inputs, "blocking")
        assert failure(call) == invalid_param(message)


def test_checks_run_in_difys_order():
    with sdk() as session:
        # agent blocking before the conversation, the conversation before the inputs
        agent = functools.partial(session.app.chat.invoke, "demo-agent", "q", {"name": 5}, "blocking", "nope")
        assert failure(agent) == invalid_param("Agent Chat App does not support blocking mode")
        unknown = functools.partial(
            session.app.chat.invoke, "demo-chat", "q", {"name": 5}, "blocking", str(uuid.uuid4())
        )
        assert failure(unknown) == invalid_param("")
        # the app before the query; a number input of the wrong type is Dify's TypeError: a 500
        assert failure(lambda: session.app.chat.invoke("ghost", "", {}, "blocking")) == invalid_param("app not found")
        assert (
            failure(lambda: session.app.workflow.invoke("demo-workflow", {"text": "t", "count": [1]}, "blocking"))
            == INTERNAL_500
        )


def test_valid_inputs_are_cleaned_as_dify_does():
    with sdk() as session:
        events = list(
            session.app.workflow.invoke("demo-workflow", {"text": "a\x00b", "count": "2.5", "extra": 1}, "streaming")
        )
    assert events[0]["data"]["inputs"]["text"] == "ab" and events[0]["data"]["inputs"]["count"] == 2.5
    assert "extra" not in events[0]["data"]["inputs"]


def events_of(session, app, text, mode="streaming"):
    if app in ("demo-workflow",):
        return list(session.app.workflow.invoke(app, {"text": text}, mode))
    return list(session.app.chat.invoke(app, text, {}, mode))


def test_moderation_replaces_the_answer():
    with sdk() as session:
        events = events_of(session, "demo-chat", "/moderate")
        blocking = session.app.chat.invoke("demo-chat", "/moderate", {}, "blocking")
        workflow = events_of(session, "demo-workflow", "/moderate")
    replace = next(e for e in events if e["event"] == "message_replace")
    assert set(replace) == {"event", "conversation_id", "message_id", "created_at", "task_id", "answer", "reason"}
    assert replace["answer"] == MODERATED_ANSWER and events[-1]["event"] == "message_end"
    assert blocking["answer"] == MODERATED_ANSWER
    text_replace = next(e for e in workflow if e["event"] == "text_replace")
    assert text_replace["data"] == {"text": MODERATED_ANSWER}
    assert workflow[-1]["data"]["outputs"] == {"text": MODERATED_ANSWER}


def test_tts_file_iteration_loop_and_agent_log_events():
    with sdk() as session:
        tts = events_of(session, "demo-chat", "/tts")
        file = events_of(session, "demo-agent", "/file")
        iterate = events_of(session, "demo-workflow", "/iterate 2")
        loop = events_of(session, "demo-chatflow", "/loop 3")
        agent_log = events_of(session, "demo-workflow", "/agent-log")
    assert [e["event"] for e in tts][-2:] == ["tts_message", "tts_message_end"] and tts[-1]["audio"] == ""
    assert set(tts[-1]) == {"event", "conversation_id", "message_id", "created_at", "task_id", "audio"}
    message_file = next(e for e in file if e["event"] == "message_file")
    assert (message_file["type"], message_file["belongs_to"]) == ("image", "assistant")
    assert set(message_file) == {
        "event",
        "conversation_id",
        "message_id",
        "created_at",
        "task_id",
        "id",
        "type",
        "belongs_to",
        "url",
    }
    names = [e["event"] for e in iterate]
    assert names[1:5] == ["iteration_started", "iteration_next", "iteration_next", "iteration_completed"]
    completed = iterate[4]
    assert completed["data"]["steps"] == 2 and completed["data"]["status"] == "succeeded"
    assert set(completed) == {"event", "workflow_run_id", "task_id", "data"}
    assert [e["data"]["index"] for e in loop if e["event"] == "loop_next"] == [0, 1, 2]
    assert "conversation_id" in loop[1] and loop[-1]["event"] == "message_end"
    log = next(e for e in agent_log if e["event"] == "agent_log")
    assert set(log["data"]) == {
        "node_execution_id",
        "id",
        "label",
        "parent_id",
        "error",
        "status",
        "data",
        "metadata",
        "node_id",
    }


@pytest.fixture(scope="module")
def probe(tmp_path_factory):
    """probe(call) -> what a bare plugin's SDK call returned or raised, over the real stdio protocol.

    The runtime cuts app streams after 1 s instead of 240 s; the plugin's storage quota is 1024 bytes.
    """
    config = tmp_path_factory.mktemp("probe") / "devkit.toml"
    config.write_text("[limits]\napp_stream_seconds = 1\n")
    running = Runtime(plugin_dir=Path(__file__).parent / "probe_plugin", config=config)
    yield lambda **call: httpx.post(running.base_url + "/probe", json=call, timeout=30).json()
    running.stop()


def test_headline_failures_through_the_stdio_protocol(probe):
    assert probe(kind="completion", app_id="demo-completion") == {"error": INTERNAL_500}
    assert probe(kind="fetch_app", app_id="nope") == {"error": "fetch app failed: data is nil"}
    unknown = str(uuid.uuid4())
    assert probe(kind="chat", app_id="demo-chat", query="x", conversation_id=unknown) == {"error": invalid_param("")}
    assert probe(kind="chat", app_id="demo-chat", query="x", conversation_id="nope") == {"error": INTERNAL_500}


def test_app_streams_are_cut_after_the_configured_seconds(probe):
    error = probe(kind="chat", app_id="demo-chat", query="/pause 5")["error"]
    assert error.startswith("read app failed: ") and error.endswith("failed to read system header")


def test_an_over_quota_set_stores_and_raises_through_the_protocol(probe):
    over = "save data failed: allocated size is greater than max storage size"
    assert probe(kind="set", key="big", size=2000) == {"error": over}
    assert probe(kind="get", key="big") == {"result": "x" * 2000}


# Apps a plugin declares in devkit.toml ([[demo.apps]]) run through the same code as the built-in ones.
DECLARED = """
[[demo.apps]]
name = "support-bot"
mode = "chat"
answer = "{{ inputs.team | upper }} here (turn {{ turn }}): {{ query }}"
opening_statement = "How can we help?"
[[demo.apps.form]]
variable = "team"
type = "select"
options = ["sales", "billing"]
required = true
[[demo.apps.form]]
variable = "ticket"
type = "text-input"
max_length = 8

[[demo.apps]]
name = "triage"
mode = "workflow"
answer = "{{ inputs.text | length }} characters"
outputs = { label = "{{ 'urgent' if 'now' in inputs.text else 'later' }}", answer = "{{ answer }}" }
[[demo.apps.form]]
variable = "text"
type = "paragraph"
required = true
"""


@pytest.fixture
def declared(tmp_path):
    (tmp_path / "devkit.toml").write_text(DECLARED)
    return load_config(Path(__file__).parent / "bare_plugin", tmp_path / "devkit.toml").demo_apps


def test_a_declared_chat_app_checks_streams_and_continues_as_a_built_in_one(declared):
    apps = DemoApps(declared=declared)
    assert apps.app_ids()[-2:] == ["support-bot", "triage"] and "demo-chat" in apps.app_ids()
    with sdk(Host(apps, Storage())) as session:
        parameters = session.app.fetch_app("support-bot")
        assert parameters["opening_statement"] == "How can we help?"
        assert parameters["user_input_form"] == [
            {
                "select": {
                    "type": "select",
                    "variable": "team",
                    "label": "team",
                    "required": True,
                    "options": ["sales", "billing"],
                }
            },
            {
                "text-input": {
                    "type": "text-input",
                    "variable": "ticket",
                    "label": "ticket",
                    "required": False,
                    "default": "",
                    "options": [],
                    "max_length": 8,
                }
            },
        ]
        chat = session.app.chat.invoke
        assert failure(lambda: chat("support-bot", "hi", {}, "streaming")) == invalid_param(
            "team is required in input form"
        )
        assert failure(lambda: chat("support-bot", "hi", {"team": "hr"}, "streaming")) == invalid_param(
            "team in input form must be one of the following: ['sales', 'billing']"
        )
        assert failure(lambda: chat("support-bot", "hi", {"team": "sales", "ticket": "123456789"}, "streaming")) == (
            invalid_param("ticket in input form must be less than 8 characters")
        )
        events = list(chat("support-bot", "Where is my order?", {"team": "sales"}, "streaming"))
        assert [e["event"] for e in events] == ["message"] * (len(events) - 1) + ["message_end"]
        assert "".join(e["answer"] for e in events[:-1]) == "SALES here (turn 1): Where is my order?"
        again = chat("support-bot", "And now?", {"team": "billing"}, "blocking", events[0]["conversation_id"])
        assert again["answer"] == "BILLING here (turn 2): And now?" and again["mode"] == "chat"


def test_a_declared_workflow_answers_with_its_outputs(declared):
    with sdk(Host(DemoApps(declared=declared), Storage())) as session:
        run = session.app.workflow.invoke("triage", {"text": "fix it now"}, "blocking")
        assert run["data"]["outputs"] == {"label": "urgent", "answer": "10 characters"}
        events = list(session.app.workflow.invoke("triage", {"text": "someday"}, "streaming"))
        assert "".join(e["data"]["text"] for e in events if e["event"] == "text_chunk") == "7 characters"
        assert events[-1]["event"] == "workflow_finished"
        assert events[-1]["data"]["outputs"] == {"label": "later", "answer": "7 characters"}
        assert failure(lambda: session.app.workflow.invoke("triage", {}, "blocking")) == invalid_param(
            "text is required in input form"
        )


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[[demo.apps]]\nmode = "chat"\n', "`name` (the app id) is required"),
        ('[[demo.apps]]\nname = "a"\nmode = "assistant"\n', "`mode` must be one of chat, agent-chat,"),
        ('[[demo.apps]]\nname = "demo-chat"\nmode = "chat"\n', "the name demo-chat is taken"),
        ('[[demo.apps]]\nname = "a"\nmode = "chat"\n[[demo.apps]]\nname = "a"\nmode = "chat"\n', "name a is taken"),
        ('[[demo.apps]]\nname = "a"\nmode = "chat"\nanswr = "x"\n', "unknown key(s) answr"),
        ('[[demo.apps]]\nname = "a"\nmode = "chat"\nanswer = "{{ query"\n', "template '{{ query'"),
        ('[[demo.apps]]\nname = "a"\nmode = "chat"\noutputs = { x = "y" }\n', "for workflow and advanced-chat"),
        (
            '[[demo.apps]]\nname = "a"\nmode = "chat"\n[[demo.apps.form]]\nvariable = "x"\ntype = "checkbox"\n',
            "`type` must be one of",
        ),
        (
            '[[demo.apps]]\nname = "a"\nmode = "chat"\n[[demo.apps.form]]\nvariable = "x"\ntype = "select"\n',
            "select needs them",
        ),
        (
            '[[demo.apps]]\nname = "a"\nmode = "chat"\n[[demo.apps.form]]\nvariable = "x"\ntype = "number"\nmax_length = 3\n',
            "`max_length` is a whole number",
        ),
        ('[[demo.apps]]\nname = "a"\nmode = "chat"\n[[demo.apps.form]]\ntype = "number"\n', "needs a `variable`"),
    ],
)
def test_a_malformed_declaration_is_refused_saying_what_is_wrong(tmp_path, toml, message):
    (tmp_path / "devkit.toml").write_text(toml)
    with pytest.raises(ValueError) as refused:
        load_config(Path(__file__).parent / "bare_plugin", tmp_path / "devkit.toml")
    assert message in str(refused.value)


def test_a_template_that_fails_is_the_plugins_400_naming_the_app(tmp_path):
    (tmp_path / "devkit.toml").write_text('[[demo.apps]]\nname = "broken"\nmode = "chat"\nanswer = "{{ 1 / 0 }}"\n')
    apps = load_config(Path(__file__).parent / "bare_plugin", tmp_path / "devkit.toml").demo_apps
    with sdk(Host(DemoApps(declared=apps), Storage())) as session:
        assert "[devkit] demo app broken: its template failed: division by zero" in failure(
            lambda: session.app.chat.invoke("broken", "hi", {}, "blocking")
        )
