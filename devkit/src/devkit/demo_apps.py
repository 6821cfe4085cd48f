"""Built-in demo apps that answer the plugin's app invocations the way Dify's inner API does.

Each app dispatches by its stored mode (whatever invoker was called), checks the call in Dify's order
with Dify's messages, and yields Dify's exact event dicts (SERVICE_API "full" converters). Answers are
deterministic. A query (or the `text` input of a workflow or completion app) that starts with a command
drives faults, sizes and the rarer events real apps emit:

    /tokens N     answer with N message events          /big N       one answer event of N bytes
    /fail before  fail before the first event           /fail during an error event mid-stream
    /crash during the app raises mid-stream              /hang S      stay silent S seconds first
    /pause S      stay silent S seconds after the first event
    /moderate     output moderation replaces the answer so far (`message_replace`; `text_replace` in workflows)
    /tts          text-to-speech auto-play: `tts_message` events and a final `tts_message_end`
    /file         the answer carries a file (`message_file`; chat, agent and completion apps)
    /iterate N    an iteration node with N steps (`iteration_started/next/completed`; workflow and chatflow)
    /loop N       a loop node with N rounds (`loop_started/next/completed`; workflow and chatflow)
    /agent-log    an Agent node's log (`agent_log`; workflow and chatflow)

Beside the five built-in apps, a plugin's devkit.toml can declare its own (`[[demo.apps]]`, read by
`declared_app`): a name, a mode, an input form in Dify's `user_input_form` terms and a canned answer (a
Jinja template of the query and inputs; a workflow's outputs too). They run through the same code as the
built-in ones: the same checks and messages, events, streaming and conversations.

Completion apps fail from a plugin, as in every Dify version read: the inner API calls
`CompletionAppGenerator().generate(args={"inputs", "files"})` with no `query`, and the generator starts
with `args["query"]` (api/core/plugin/backwards_invocation/app.py `invoke_completion_app`,
api/core/app/apps/completion/app_generator.py): a KeyError, so a 500. `completion_works=True`
(devkit.toml `[demo] completion_works = true`) emulates a Dify where this is fixed.
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import gevent
import jinja2
from jinja2.sandbox import SandboxedEnvironment

from devkit.errors import internal_server_error, value_error
from devkit.files import FileStore

MODES = ("chat", "agent-chat", "advanced-chat", "workflow", "completion")
CHAT_MODES = ("chat", "agent-chat", "advanced-chat")
WORKFLOW_MODES = ("advanced-chat", "workflow")
USAGE = {
    "prompt_tokens": 12,
    "prompt_unit_price": "0.001",
    "prompt_price_unit": "0.001",
    "prompt_price": "0.0000120",
    "completion_tokens": 0,
    "completion_unit_price": "0.002",
    "completion_price_unit": "0.001",
    "completion_price": "0",
    "total_tokens": 12,
    "total_price": "0.0000120",
    "currency": "USD",
    "latency": 0.01,
}
MODERATED_ANSWER = "Sorry, I can't talk about that."
TTS_AUDIO = base64.b64encode(b"ID3 demo mp3 frame").decode()  # what a TTS chunk looks like: base64 mp3 bytes


class AppCrashed(Exception):
    """An exception escaped the app's generator mid-stream (the daemon reports it as "read app failed")."""


def _text_input(variable: str, label: str, required: bool, max_length: int = 256) -> dict:
    return {
        "text-input": {
            "type": "text-input",
            "variable": variable,
            "label": label,
            "required": required,
            "max_length": max_length,
            "default": "",
            "options": [],
        }
    }


def _select(variable: str, label: str, options: list[str]) -> dict:
    return {
        "select": {"type": "select", "variable": variable, "label": label, "required": False, "options": options}
    }  # no default: an unset optional select stays None


def _number(variable: str, label: str) -> dict:
    return {
        "number": {
            "type": "number",
            "variable": variable,
            "label": label,
            "required": False,
            "default": None,
            "options": [],
        }
    }


def _file(variable: str, label: str) -> dict:
    return {
        "file": {
            "type": "file",
            "variable": variable,
            "label": label,
            "required": False,
            "allowed_file_types": ["document", "image"],
            "allowed_file_upload_methods": ["local_file", "remote_url", "tool_file"],
        }
    }


def _paragraph(variable: str, label: str) -> dict:
    return {
        "paragraph": {
            "type": "paragraph",
            "variable": variable,
            "label": label,
            "required": True,
            "max_length": 100000,
            "default": "",
            "options": [],
        }
    }


@dataclass(frozen=True)
class DemoApp:
    app_id: str
    mode: str
    form: list[dict]
    opening_statement: str | None = None
    answer: str | None = None  # a declared app's answer template; None: the built-in answer of its mode
    outputs: dict[str, str] | None = None  # a declared workflow's outputs, name -> template; None: {"text": answer}


BUILT_IN = {
    app.app_id: app
    for app in (
        DemoApp(
            "demo-chat",
            "chat",
            [
                _text_input("name", "Your name", False, 48),
                _select("tone", "Tone", ["friendly", "formal"]),
                _file("attachment", "Attachment"),
            ],
            "Hello! Ask me anything.",
        ),
        DemoApp("demo-agent", "agent-chat", [_text_input("name", "Your name", False, 48)]),
        DemoApp("demo-chatflow", "advanced-chat", [_text_input("name", "Your name", False, 48)]),
        DemoApp(
            "demo-workflow",
            "workflow",
            [_paragraph("text", "Text"), _file("attachment", "Attachment"), _number("count", "Count")],
        ),
        DemoApp("demo-completion", "completion", [_text_input("text", "Topic", True, 200)]),
    )
}
# The form entries a declared app can have: what BaseAppGenerator._validate_inputs checks (below).
FORM_TYPES = ("text-input", "paragraph", "select", "number", "file", "file-list")
_APP_KEYS = {"name", "mode", "form", "answer", "outputs", "opening_statement"}
_FORM_KEYS = {"variable", "type", "label", "required", "options", "max_length", "default"}
_TEMPLATES = SandboxedEnvironment(autoescape=False, keep_trailing_newline=True)


def declared_app(table: dict) -> DemoApp:
    """A demo app from a devkit.toml `[[demo.apps]]` table; ValueError says what is wrong with it."""
    name = table.get("name")
    where = f"[[demo.apps]] {name!r}" if isinstance(name, str) and name else "[[demo.apps]]"
    if not isinstance(name, str) or not name:
        raise ValueError(f"{where}: `name` (the app id) is required")
    if unknown := sorted(set(table) - _APP_KEYS):
        raise ValueError(f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(_APP_KEYS))}")
    if table.get("mode") not in MODES:
        raise ValueError(f"{where}: `mode` must be one of {', '.join(MODES)}, got {table.get('mode')!r}")
    outputs = table.get("outputs")
    if outputs is not None and (
        table["mode"] not in WORKFLOW_MODES or not isinstance(outputs, dict) or not all(map(_is_text, outputs.values()))
    ):
        raise ValueError(f"{where}: `outputs` is a table of templates, for workflow and advanced-chat apps only")
    for key in ("answer", "opening_statement"):
        if table.get(key) is not None and not _is_text(table[key]):
            raise ValueError(f"{where}: `{key}` must be text")
    for template in [table.get("answer"), *(outputs or {}).values()]:
        try:
            _TEMPLATES.parse(template or "")
        except jinja2.TemplateSyntaxError as e:
            raise ValueError(f"{where}: template {template!r}: {e}") from None
    form = table.get("form", [])
    if not isinstance(form, list):
        raise ValueError(f"{where}: `form` is a list of [[demo.apps.form]] tables")
    variables = [entry.get("variable") for entry in form if isinstance(entry, dict)]
    if len(set(variables)) != len(variables):
        raise ValueError(f"{where}: a form variable is declared twice")
    return DemoApp(
        name,
        table["mode"],
        [_form_entry(where, entry) for entry in form],
        table.get("opening_statement"),
        table.get("answer"),
        outputs,
    )


def _form_entry(where: str, entry: object) -> dict:
    """One user_input_form entry, shaped as Dify's /parameters shows it: {type: {type, variable, ...}}."""
    if not isinstance(entry, dict) or not isinstance(entry.get("variable"), str) or not entry["variable"]:
        raise ValueError(f"{where}: each form entry needs a `variable` (its name)")
    variable, kind = entry["variable"], entry.get("type")
    where = f"{where} form {variable!r}"
    if unknown := sorted(set(entry) - _FORM_KEYS):
        raise ValueError(f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(_FORM_KEYS))}")
    if kind not in FORM_TYPES:
        raise ValueError(f"{where}: `type` must be one of {', '.join(FORM_TYPES)}, got {kind!r}")
    required = entry.get("required", False)
    if not isinstance(required, bool):
        raise ValueError(f"{where}: `required` is true or false")
    # Dify's form editor starts a text input at 48 characters (web/config/index.ts DEFAULT_VALUE_MAX_LEN).
    max_length = entry.get("max_length", 48 if kind == "text-input" else None)
    if max_length is not None and (kind not in ("text-input", "paragraph", "file-list") or type(max_length) is not int):
        raise ValueError(f"{where}: `max_length` is a whole number, for text-input, paragraph and file-list")
    options = entry.get("options")
    if (kind == "select") != (options is not None):
        raise ValueError(f"{where}: `options` (a list of texts) goes with type select, and select needs them")
    if kind == "select" and not (isinstance(options, list) and options and all(map(_is_text, options))):
        raise ValueError(f"{where}: `options` must be a non-empty list of texts")
    spec = {"type": kind, "variable": variable, "label": str(entry.get("label", variable)), "required": required}
    if kind in ("text-input", "paragraph"):
        spec.update(default="", options=[])
    elif kind == "select":
        spec["options"] = options
    elif kind == "number":
        spec.update(default=None, options=[])
    else:
        spec.update(
            allowed_file_types=["document", "image"],
            allowed_file_upload_methods=["local_file", "remote_url", "tool_file"],
        )
    if max_length is not None:
        spec["max_length"] = max_length
    if "default" in entry:
        spec["default"] = entry["default"]
    return {kind: spec}


def _is_text(value: object) -> bool:
    return isinstance(value, str)


@dataclass
class DemoApps:
    """The demo backend: app calls, parameters and the conversations they started."""

    token_delay: float = 0.0
    files: FileStore = field(default_factory=FileStore)
    completion_works: bool = False  # emulate a Dify whose plugin path can run completion apps
    conversations: dict[uuid.UUID, tuple[str, int]] = field(default_factory=dict)  # id -> (app_id, turns)
    declared: list[DemoApp] = field(default_factory=list)  # a plugin's own (devkit.toml), beside the built-in ones

    def __post_init__(self) -> None:
        self.apps = {**BUILT_IN, **{app.app_id: app for app in self.declared}}

    def app_ids(self) -> list[str]:
        return list(self.apps)

    def fetch_app(self, app_id: str) -> dict:
        """The parameters dict (Service API /parameters shape); raises InnerApiError as Dify would."""
        app = self._app(app_id)
        return {
            "opening_statement": app.opening_statement,
            "suggested_questions": [],
            "suggested_questions_after_answer": {"enabled": False},
            "speech_to_text": {"enabled": False},
            "text_to_speech": {"enabled": False},
            "retriever_resource": {"enabled": False},
            "annotation_reply": {"enabled": False},
            "more_like_this": {"enabled": False},
            "user_input_form": app.form,
            "sensitive_word_avoidance": {"enabled": False, "type": "", "configs": []},
            "file_upload": {
                "image": {
                    "enabled": False,
                    "number_limits": 3,
                    "detail": "high",
                    "transfer_methods": ["remote_url", "local_file"],
                }
            },
            "system_parameters": {
                "image_file_size_limit": 10,
                "video_file_size_limit": 100,
                "audio_file_size_limit": 50,
                "file_size_limit": 15,
                "workflow_file_upload_limit": 10,
            },
        }

    def invoke(self, request: dict) -> Iterator[dict]:
        """Run an app for one `app` invocation; raises InnerApiError before the stream as Dify does.

        Order of checks, as in Dify: the payload (controllers/inner_api/plugin/wraps.py `plugin_data`),
        the app (backwards_invocation/app.py `_get_app`), a chat app's query, completion's KeyError,
        agent-chat blocking (AgentChatAppGenerator.generate), the conversation, then the inputs
        (BaseAppGenerator._prepare_user_inputs).
        """
        mode = request.get("response_mode")
        if mode not in ("streaming", "blocking") or not isinstance(request.get("inputs") or {}, dict):
            raise value_error(
                "invalid payload: " + ("response_mode" if mode not in ("streaming", "blocking") else "inputs")
            )
        streaming = mode == "streaming"
        app = self._app(str(request.get("app_id") or ""))
        query = str(request.get("query") or "")
        if app.mode in CHAT_MODES and not query:
            raise value_error("missing query")
        if app.mode == "completion" and not self.completion_works:
            raise internal_server_error()
        if app.mode == "agent-chat" and not streaming:
            raise value_error("Agent Chat App does not support blocking mode")
        conversation_id, turn = self._conversation(app, request) if app.mode in CHAT_MODES else ("", 0)
        inputs = _validate_inputs(app, request.get("inputs") or {})
        described = [self.files.describe(v) for v in inputs.values() if isinstance(v, dict | list)]
        command = _Command.parse(query if app.mode in CHAT_MODES else str(inputs.get("text") or ""))
        if command.name == "fail" and command.arg == "before":
            raise internal_server_error()
        answer = _answer(app, query, inputs, turn) + "".join(f" [{d}]" for d in described)
        outputs = None  # a declared workflow's outputs, rendered before the stream as the answer is
        if app.outputs is not None:
            values = {"query": query, "inputs": inputs, "turn": turn, "answer": answer}
            outputs = {name: _render(app, template, **values) for name, template in app.outputs.items()}
        if conversation_id:
            self.conversations[uuid.UUID(conversation_id)] = (app.app_id, turn)
        run = _Run(app, conversation_id, turn, query, inputs, command, answer, self.token_delay, self.files, outputs)
        events = run.events()
        if streaming:
            return events
        try:
            return iter([_blocking(app, list(events))])
        except AppCrashed:
            raise internal_server_error() from None

    def _app(self, app_id: str) -> DemoApp:
        if app_id not in self.apps:
            raise value_error("app not found")
        return self.apps[app_id]

    def _conversation(self, app: DemoApp, request: dict) -> tuple[str, int]:
        """(conversation id, turn); an unknown one is ConversationNotExistsError, a ValueError with no message."""
        given = str(request.get("conversation_id") or "")
        if not given:
            return str(uuid.uuid4()), 1
        try:
            key = uuid.UUID(given)  # a Postgres uuid column: other spellings of the same value match
        except ValueError:
            raise internal_server_error() from None  # the database refuses a non-UUID: not a ValueError, a 500
        owner, turns = self.conversations.get(key, (None, 0))
        if owner != app.app_id:
            raise value_error("")  # services/errors/conversation.py ConversationNotExistsError: str(e) == ""
        return str(key), turns + 1


def _validate_inputs(app: DemoApp, inputs: dict) -> dict:
    """BaseAppGenerator._prepare_user_inputs: each form variable in form order; other keys are dropped."""
    cleaned = {}
    for entry in app.form:
        ((kind, spec),) = entry.items()
        value = _validate_input(kind, spec, inputs.get(spec["variable"]))
        cleaned[spec["variable"]] = value.replace("\x00", "") if isinstance(value, str) else value
    return cleaned


def _validate_input(kind: str, spec: dict, value: object) -> object:
    """BaseAppGenerator._validate_inputs, message for message (api/core/app/apps/base_app_generator.py)."""
    name = spec["variable"]
    if value is None:
        if spec.get("required"):
            raise value_error(f"{name} is required in input form")
        value = spec.get("default")
        if value is None:
            return None
    if kind in ("file", "file-list") and not spec.get("required") and value == "":
        return None
    if kind in ("text-input", "select", "paragraph") and not isinstance(value, str):
        raise value_error(f"(type '{kind}') {name} in input form must be a string")
    if kind == "number":
        if isinstance(value, int | float):
            return value
        if not isinstance(value, str):
            raise internal_server_error()  # Dify raises TypeError here: not a ValueError, so a 500
        if not value.strip():
            return None
        try:
            return float(value) if "." in value else int(value)
        except ValueError:
            raise value_error(f"{name} in input form must be a valid number") from None
    if kind == "select" and value not in spec["options"]:
        raise value_error(f"{name} in input form must be one of the following: {spec['options']}")
    if kind in ("text-input", "paragraph") and spec.get("max_length") and len(value) > spec["max_length"]:
        raise value_error(f"{name} in input form must be less than {spec['max_length']} characters")
    if kind == "file" and not isinstance(value, dict):
        raise value_error(f"{name} in input form must be a file")
    if kind == "file-list" and not (isinstance(value, list) and all(isinstance(v, dict) for v in value)):
        raise value_error(f"{name} in input form must be a list of files")
    return value


@dataclass(frozen=True)
class _Command:
    name: str = ""
    arg: str = ""

    @classmethod
    def parse(cls, text: str) -> _Command:
        if not text.startswith("/"):
            return cls()
        name, _, arg = text[1:].partition(" ")
        return cls(name, arg.strip())

    def number(self, default: int, ceiling: int) -> int:
        try:
            return max(0, min(int(self.arg), ceiling))
        except ValueError:
            return default


def _answer(app: DemoApp, query: str, inputs: dict, turn: int) -> str:
    if app.answer is not None:
        return _render(app, app.answer, query=query, inputs=inputs, turn=turn)
    if app.mode == "workflow":
        return f"Echo: {inputs.get('text') or ''}"
    if app.mode == "completion":
        return f"A short note about {inputs.get('text') or ''}."
    name = inputs.get("name") or "there"
    greeting = "Good day" if inputs.get("tone") == "formal" else "Hi"
    return f"{greeting} {name}! You said: {query} (turn {turn})"


def _render(app: DemoApp, template: str, **values) -> str:
    """A declared app's template with the run's values; a template that fails says so to the plugin."""
    try:
        return _TEMPLATES.from_string(template).render(**values)
    except Exception as e:  # whatever fails inside the author's template is theirs to see
        raise value_error(f"[devkit] demo app {app.app_id}: its template failed: {e}") from None


class _Run:
    """One app run: produces the event dicts of the app's mode."""

    def __init__(self, app, conversation_id, turn, query, inputs, command, answer, token_delay, files, outputs=None):
        self.app, self.command, self.delay, self.files, self.outputs = app, command, token_delay, files, outputs
        self.inputs, self.query, self.turn = inputs, query, turn
        self.task_id, self.message_id, self.run_id = (str(uuid.uuid4()) for _ in range(3))
        self.created_at = int(time.time())
        # The converters' base keys (api/core/app/apps/*/generate_response_converter.py).
        if app.mode in CHAT_MODES:
            self.base = {
                "event": "",
                "conversation_id": conversation_id,
                "message_id": self.message_id,
                "created_at": self.created_at,
            }
        elif app.mode == "completion":
            self.base = {"event": "", "message_id": self.message_id, "created_at": self.created_at}
        else:
            self.base = {"event": "", "workflow_run_id": self.run_id}
        self.tokens = self._tokens(answer)
        self.answer = "".join(self.tokens)

    def _tokens(self, answer: str) -> list[str]:
        if self.command.name == "tokens":
            return [f"t{i} " for i in range(self.command.number(10, 1_000_000))]
        if self.command.name == "big":
            return ["x" * self.command.number(1024, 50 * 1024 * 1024)]
        words = answer.split(" ")
        return [w if i == len(words) - 1 else w + " " for i, w in enumerate(words)]

    def event(self, name: str, **fields) -> dict:
        return {**self.base, "event": name, "task_id": self.task_id, **fields}

    def events(self) -> Iterator[dict]:
        if self.command.name == "hang":
            gevent.sleep(self.command.number(60, 3600))
        mode, name = self.app.mode, self.command.name
        if mode in WORKFLOW_MODES:
            yield self.event(
                "workflow_started",
                workflow_run_id=self.run_id,
                data={
                    "id": self.run_id,
                    "workflow_id": f"wf-{self.app.app_id}",
                    "inputs": self._sys_inputs(),
                    "created_at": self.created_at,
                },
            )
            if name in ("iterate", "loop"):
                yield from self._repeat_node(name)
            if name == "agent-log":
                yield self._agent_log()
            yield self.event("node_started", workflow_run_id=self.run_id, data=self._node(finished=False))
        if mode == "agent-chat":
            yield self.event(
                "agent_thought",
                id=str(uuid.uuid5(uuid.NAMESPACE_URL, self.message_id)),
                position=1,
                thought="I can answer this directly.",
                observation="",
                tool="",
                tool_labels={},
                tool_input="",
                message_files=[],
            )
        if (yield from self._stream_tokens()) == "failed":
            return  # Dify ends a stream after its error event
        if name == "file" and mode not in WORKFLOW_MODES:
            yield self._message_file()
        if mode in WORKFLOW_MODES:
            yield self.event("node_finished", workflow_run_id=self.run_id, data=self._node(finished=True))
            yield self.event("workflow_finished", workflow_run_id=self.run_id, data=self._workflow_result())
        if mode != "workflow":
            yield self.event(
                "message_end",
                id=self.message_id,
                metadata={"retriever_resources": [], "usage": self._usage()},
                files=None,
            )
        if name == "tts":
            # The TTS publisher is drained after the app's last event
            # (easy_ui_based_generate_task_pipeline._wrapper_process_stream_response).
            yield self.event("tts_message", audio=TTS_AUDIO)
            yield self.event("tts_message_end", audio="")

    def _stream_tokens(self):
        name = self.command.name
        fail_at = len(self.tokens) // 2 if name in ("fail", "crash") else -1
        moderate_at = max(1, len(self.tokens) // 2) if name == "moderate" else -1
        started = time.monotonic()
        for index, token in enumerate(self.tokens):
            if index == fail_at:
                if name == "crash":
                    raise AppCrashed("[demo] the app crashed in the middle of its answer")
                yield self._error_event()
                return "failed"
            if index == moderate_at:
                yield self._replace_event()
                return "done"
            if self.delay:  # an absolute schedule, like a model's pace: a slow reader delays, never stretches it
                gevent.sleep(max(0.0, started + (index + 1) * self.delay - time.monotonic()))
            if name == "tts" and index % 4 == 0:
                yield self.event("tts_message", audio=TTS_AUDIO)
            yield self._token_event(token)
            if index == 0 and name == "pause":
                gevent.sleep(self.command.number(1, 3600))
        if fail_at >= 0 and not self.tokens:
            yield self._error_event()
            return "failed"
        if moderate_at >= 0:
            yield self._replace_event()
        return "done"

    def _token_event(self, token: str) -> dict:
        if self.app.mode == "workflow":
            return self.event("text_chunk", data={"text": token, "from_variable_selector": ["llm", "text"]})
        if self.app.mode == "agent-chat":
            return self.event("agent_message", id=self.message_id, answer=token)
        selector = ["llm", "text"] if self.app.mode == "advanced-chat" else None
        return self.event("message", id=self.message_id, answer=token, from_variable_selector=selector)

    def _replace_event(self) -> dict:
        """Output moderation flagged the answer: the text so far is replaced by the preset reply."""
        self.answer = MODERATED_ANSWER
        if self.app.mode == "workflow":
            return self.event("text_replace", data={"text": MODERATED_ANSWER})
        return self.event("message_replace", answer=MODERATED_ANSWER, reason="output_moderation")

    def _error_event(self) -> dict:
        event = {k: v for k, v in self.event("error").items() if k != "task_id"}
        return {
            **event,
            "code": "completion_request_error",
            "status": 400,
            "message": "[demo] The model failed in the middle of its answer.",
        }

    def _message_file(self) -> dict:
        """A tool file the answer carries (MessageCycleManager.message_file_to_stream_response)."""
        file_id = str(uuid.uuid5(uuid.NAMESPACE_URL, self.message_id + "/file"))
        url = (
            f"{self.files.base_url or 'http://127.0.0.1'}/files/tools/{file_id}.png"
            f"?timestamp={self.created_at}&nonce=demo&sign=demo"
        )
        return self.event("message_file", id=file_id, type="image", belongs_to="assistant", url=url)

    def _repeat_node(self, kind: str) -> Iterator[dict]:
        """An iteration or loop node (task_entities.py Iteration*/Loop*StreamResponse data shapes)."""
        steps = self.command.number(3, 1000)
        node_type, title = ("iteration", "Iteration") if kind == "iterate" else ("loop", "Loop")
        prefix = "iteration" if kind == "iterate" else "loop"
        node = {
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, self.run_id + "/" + prefix)),
            "node_id": prefix,
            "node_type": node_type,
            "title": title,
        }
        inputs = {"iterator_selector": ["start", "items"]} if kind == "iterate" else {"loop_count": steps}
        metadata = {"iterator_length": steps} if kind == "iterate" else {"loop_length": steps}
        yield self.event(
            f"{prefix}_started",
            workflow_run_id=self.run_id,
            data={
                **node,
                "created_at": self.created_at,
                "extras": {},
                "metadata": metadata,
                "inputs": inputs,
                "inputs_truncated": False,
            },
        )
        before_round = {"pre_loop_output": None} if kind == "loop" else {}
        for index in range(steps):
            yield self.event(
                f"{prefix}_next",
                workflow_run_id=self.run_id,
                data={**node, "index": index, "created_at": self.created_at, **before_round, "extras": {}},
            )
        outputs = {"output": [f"step {i}" for i in range(steps)]} if kind == "iterate" else {"loop_round": steps}
        yield self.event(
            f"{prefix}_completed",
            workflow_run_id=self.run_id,
            data={
                **node,
                "outputs": outputs,
                "outputs_truncated": False,
                "created_at": self.created_at,
                "extras": {},
                "inputs": inputs,
                "inputs_truncated": False,
                "status": "succeeded",
                "error": None,
                "elapsed_time": 0.01,
                "total_tokens": 0,
                "execution_metadata": {},
                "finished_at": self.created_at,
                "steps": steps,
            },
        )

    def _agent_log(self) -> dict:
        """One step of an Agent node's log (task_entities.py AgentLogStreamResponse; no workflow_run_id field)."""
        return self.event(
            "agent_log",
            data={
                "node_execution_id": str(uuid.uuid5(uuid.NAMESPACE_URL, self.run_id + "/agent")),
                "id": str(uuid.uuid5(uuid.NAMESPACE_URL, self.run_id + "/agent/round-1")),
                "label": "ROUND 1",
                "parent_id": None,
                "error": None,
                "status": "success",
                "data": {"thought": "I can answer this directly.", "tool": None},
                "metadata": {},
                "node_id": "agent",
            },
        )

    def _sys_inputs(self) -> dict:
        inputs = {
            **self.inputs,
            "sys.files": [],
            "sys.user_id": "DEFAULT-USER",
            "sys.app_id": self.app.app_id,
            "sys.workflow_id": f"wf-{self.app.app_id}",
            "sys.workflow_run_id": self.run_id,
        }
        if self.app.mode == "advanced-chat":
            inputs.update(
                {
                    "sys.query": self.query,
                    "sys.conversation_id": self.base["conversation_id"],
                    "sys.dialogue_count": self.turn,
                }
            )
        return inputs

    def _node(self, finished: bool) -> dict:
        node = {
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, self.run_id)),
            "node_id": "llm",
            "node_type": "llm",
            "title": "LLM",
            "index": 2,
            "predecessor_node_id": "start",
            "inputs": None,
            "inputs_truncated": False,
            "created_at": self.created_at,
            "extras": {},
            "iteration_id": None,
            "loop_id": None,
            "agent_strategy": None,
        }
        if finished:
            node.update(
                {
                    "inputs": {},
                    "process_data": {},
                    "process_data_truncated": False,
                    "outputs": {"text": self.answer},
                    "outputs_truncated": False,
                    "status": "succeeded",
                    "error": None,
                    "elapsed_time": 0.01,
                    "execution_metadata": {"total_tokens": 12, "total_price": "0.0000120", "currency": "USD"},
                    "finished_at": self.created_at,
                    "files": [],
                }
            )
            del node["agent_strategy"]
        return node

    def _workflow_result(self) -> dict:
        return {
            "id": self.run_id,
            "workflow_id": f"wf-{self.app.app_id}",
            "status": "succeeded",
            "outputs": self.outputs if self.outputs is not None else {"text": self.answer},
            "error": None,
            "elapsed_time": 0.01,
            "total_tokens": 12,
            "total_steps": 3,
            "created_by": {"id": "end-user-demo", "user": "DEFAULT-USER"},
            "created_at": self.created_at,
            "finished_at": self.created_at,
            "exceptions_count": 0,
            "files": [],
        }

    def _usage(self) -> dict:
        return {**USAGE, "completion_tokens": len(self.tokens), "total_tokens": 12 + len(self.tokens)}


def _blocking(app: DemoApp, events: list[dict]) -> dict:
    """The blocking answer Dify builds from the same run (section 2.7 of the app semantics).

    A chat or completion run that fails re-raises its error from `generate()`; only ValueErrors become
    400 invalid_param, the model's errors (InvokeError) reach the generic 500 handler.
    """
    errors = [e for e in events if e["event"] == "error"]
    if app.mode == "workflow":
        finished = next((e for e in events if e["event"] == "workflow_finished"), None)
        data = dict(finished["data"]) if finished else {"status": "failed", "error": errors[0]["message"]}
        for key in ("created_by", "exceptions_count", "files"):
            data.pop(key, None)
        return {"task_id": events[0]["task_id"], "workflow_run_id": events[0]["workflow_run_id"], "data": data}
    if errors:
        if errors[0]["code"] == "invalid_param":
            raise value_error(errors[0]["message"])
        raise internal_server_error()
    end = next(e for e in events if e["event"] == "message_end")
    replaced = [e["answer"] for e in events if e["event"] == "message_replace"]
    answer = replaced[-1] if replaced else "".join(e.get("answer", "") for e in events if e["event"] == "message")
    result = {
        "event": "message",
        "task_id": end["task_id"],
        "id": end["message_id"],
        "message_id": end["message_id"],
        "conversation_id": end.get("conversation_id"),
        "mode": app.mode,
        "answer": answer,
        "metadata": end["metadata"],
        "created_at": end["created_at"],
    }
    if app.mode == "completion":
        del result["conversation_id"]
    return result
