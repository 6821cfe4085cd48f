"""Built-in demo apps that answer the plugin's app invocations the way Dify does.

Each app dispatches by its stored mode (whatever invoker was called), validates inputs with Dify's
messages and yields Dify's exact event dicts. Answers are deterministic. A query (or the first text
input of a workflow or completion app) that starts with a command drives faults and sizes:

    /tokens N     answer with N message events          /big N       one answer event of N bytes
    /fail before  fail before the first event           /fail during an error event mid-stream
    /crash during the transport breaks mid-stream        /hang S      stay silent S seconds first
    /pause S      stay silent S seconds after the first event
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import gevent

from devkit.errors import InvocationError, dify_http_error
from devkit.files import FileStore

CHAT_MODES = ("chat", "agent-chat", "advanced-chat")
USAGE = {
    "prompt_tokens": 12, "prompt_unit_price": "0.001", "prompt_price_unit": "0.001", "prompt_price": "0.0000120",
    "completion_tokens": 0, "completion_unit_price": "0.002", "completion_price_unit": "0.001",
    "completion_price": "0", "total_tokens": 12, "total_price": "0.0000120", "currency": "USD", "latency": 0.01,
}


def _text_input(variable: str, label: str, required: bool, max_length: int = 256) -> dict:
    return {"text-input": {"type": "text-input", "variable": variable, "label": label, "required": required,
                           "max_length": max_length, "default": "", "options": []}}


def _select(variable: str, label: str, options: list[str]) -> dict:
    return {"select": {"type": "select", "variable": variable, "label": label, "required": False,
                       "options": options, "default": ""}}


def _file(variable: str, label: str) -> dict:
    return {"file": {"type": "file", "variable": variable, "label": label, "required": False,
                     "allowed_file_types": ["document", "image"], "allowed_file_upload_methods":
                     ["local_file", "remote_url", "tool_file"]}}


def _paragraph(variable: str, label: str) -> dict:
    return {"paragraph": {"type": "paragraph", "variable": variable, "label": label, "required": True,
                          "max_length": 100000, "default": "", "options": []}}


@dataclass(frozen=True)
class DemoApp:
    app_id: str
    mode: str
    form: list[dict]
    opening_statement: str | None = None


APPS = {
    app.app_id: app
    for app in (
        DemoApp("demo-chat", "chat", [_text_input("name", "Your name", False, 48),
                                      _select("tone", "Tone", ["friendly", "formal"]),
                                      _file("attachment", "Attachment")], "Hello! Ask me anything."),
        DemoApp("demo-agent", "agent-chat", [_text_input("name", "Your name", False, 48)]),
        DemoApp("demo-chatflow", "advanced-chat", [_text_input("name", "Your name", False, 48)]),
        DemoApp("demo-workflow", "workflow", [_paragraph("text", "Text"), _file("attachment", "Attachment")]),
        DemoApp("demo-completion", "completion", [_text_input("text", "Topic", True, 200)]),
        # For webhook senders: the raw delivery, its event type and one mapped field.
        DemoApp("demo-webhook", "workflow", [_paragraph("payload", "Payload"), _text_input("event", "Event", False, 64),
                                             _text_input("action", "Action", False, 64)]),
    )
}


@dataclass
class DemoApps:
    """The demo backend: app calls, parameters and the conversations they started."""

    token_delay: float = 0.0
    files: FileStore = field(default_factory=FileStore)
    conversations: dict[str, tuple[str, int]] = field(default_factory=dict)  # id -> (app_id, turns)

    def app_ids(self) -> list[str]:
        return list(APPS)

    def fetch_app(self, app_id: str) -> dict:
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
            "file_upload": {"image": {"enabled": False, "number_limits": 3, "detail": "high",
                                      "transfer_methods": ["remote_url", "local_file"]}},
            "system_parameters": {"image_file_size_limit": 10, "video_file_size_limit": 100,
                                  "audio_file_size_limit": 50, "file_size_limit": 15,
                                  "workflow_file_upload_limit": 10},
        }

    def invoke(self, request: dict) -> Iterator[dict]:
        """Run an app for one `app` invocation; raises before the stream as Dify's inner API does."""
        app = self._app(str(request.get("app_id") or ""))
        streaming = request.get("response_mode") == "streaming"
        if request.get("response_mode") not in ("streaming", "blocking"):
            raise dify_http_error(400, "invalid_param", "invalid payload: response_mode")
        inputs = _validate_inputs(app, request.get("inputs") or {})
        query = str(request.get("query") or "")
        if app.mode in CHAT_MODES and not query:
            raise dify_http_error(400, "invalid_param", "missing query")
        if app.mode == "agent-chat" and not streaming:
            raise dify_http_error(400, "invalid_param", "Agent Chat App does not support blocking mode")
        command_text = query if app.mode in CHAT_MODES else str(inputs.get("text", ""))
        command = _Command.parse(command_text)
        if command.name == "fail" and command.arg == "before":
            raise dify_http_error(500, "unknown", "Internal Server Error")
        conversation_id, turn = self._conversation(app, request) if app.mode in CHAT_MODES else ("", 0)
        answer = _answer(app, query, inputs, turn)
        if inputs.get("attachment"):
            answer += f" [{self.files.describe(inputs['attachment'])}]"
        events = _Run(app, conversation_id, query, inputs, command, answer, self.token_delay).events()
        if streaming:
            return events
        return iter([_blocking(app, list(events))])

    def _app(self, app_id: str) -> DemoApp:
        if app_id not in APPS:
            raise dify_http_error(400, "invalid_param", "app not found")
        return APPS[app_id]

    def _conversation(self, app: DemoApp, request: dict) -> tuple[str, int]:
        conversation_id = str(request.get("conversation_id") or "")
        if not conversation_id:
            conversation_id = str(uuid.uuid4())
            self.conversations[conversation_id] = (app.app_id, 1)
            return conversation_id, 1
        owner, turns = self.conversations.get(conversation_id, (None, 0))
        if owner != app.app_id:
            raise dify_http_error(400, "invalid_param", "Conversation Not Exists.")
        self.conversations[conversation_id] = (owner, turns + 1)
        return conversation_id, turns + 1


def _validate_inputs(app: DemoApp, inputs: object) -> dict:
    """Dify's input-form checks and messages; keys outside the form are dropped."""
    if not isinstance(inputs, dict):
        raise dify_http_error(400, "invalid_param", "invalid payload: inputs")
    cleaned = {}
    for entry in app.form:
        ((kind, spec),) = entry.items()
        name = spec["variable"]
        value = inputs.get(name)
        if value in (None, ""):
            if spec.get("required"):
                raise dify_http_error(400, "invalid_param", f"{name} is required in input form")
            cleaned[name] = spec.get("default", "")
            continue
        if kind in ("file", "file-list"):
            if not isinstance(value, dict if kind == "file" else list):
                raise dify_http_error(400, "invalid_param", f"{name} in input form must be a file")
            cleaned[name] = value
            continue
        if not isinstance(value, str):
            raise dify_http_error(400, "invalid_param",
                                  f"(type '{type(value).__name__}') {name} in input form must be a string")
        if kind == "select" and value not in spec["options"]:
            raise dify_http_error(400, "invalid_param",
                                  f"{name} in input form must be one of the following: {spec['options']}")
        if len(value) > spec.get("max_length", 10**9):
            raise dify_http_error(400, "invalid_param",
                                  f"{name} in input form must be less than {spec['max_length']} characters")
        cleaned[name] = value
    return cleaned


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
    if app.app_id == "demo-webhook":
        return f"event={inputs.get('event')} action={inputs.get('action')} payload={len(inputs.get('payload', ''))} chars"
    if app.mode == "workflow":
        return f"Echo: {inputs.get('text', '')}"
    if app.mode == "completion":
        return f"A short note about {inputs.get('text', '')}."
    name = inputs.get("name") or "there"
    greeting = "Good day" if inputs.get("tone") == "formal" else "Hi"
    return f"{greeting} {name}! You said: {query} (turn {turn})"


class _Run:
    """One app run: produces the event dicts of the app's mode."""

    def __init__(self, app, conversation_id, query, inputs, command, answer, token_delay):
        self.app, self.command, self.delay = app, command, token_delay
        self.inputs, self.query = inputs, query
        self.task_id, self.message_id, self.run_id = (str(uuid.uuid4()) for _ in range(3))
        self.created_at = int(time.time())
        self.base = {"event": "", "conversation_id": conversation_id, "message_id": self.message_id,
                     "created_at": self.created_at}
        if app.mode == "completion":
            del self.base["conversation_id"]
        if app.mode == "workflow":
            self.base = {"event": "", "workflow_run_id": self.run_id}
        self.tokens = self._tokens(answer)

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
        mode = self.app.mode
        if mode in ("advanced-chat", "workflow"):
            yield self.event("workflow_started", workflow_run_id=self.run_id, data={
                "id": self.run_id, "workflow_id": f"wf-{self.app.app_id}", "inputs": self._sys_inputs(),
                "created_at": self.created_at})
            yield self.event("node_started", workflow_run_id=self.run_id, data=self._node(finished=False))
        if mode == "agent-chat":
            yield self.event("agent_thought", id=str(uuid.uuid5(uuid.NAMESPACE_URL, self.message_id)), position=1,
                             thought="I can answer this directly.", observation="", tool="", tool_labels={},
                             tool_input="", message_files=[])
        if (yield from self._stream_tokens()) == "failed":
            return  # Dify ends a stream after its error event
        if mode in ("advanced-chat", "workflow"):
            yield self.event("node_finished", workflow_run_id=self.run_id, data=self._node(finished=True))
            yield self.event("workflow_finished", workflow_run_id=self.run_id, data=self._workflow_result())
        if mode != "workflow":
            yield self.event("message_end", id=self.message_id,
                             metadata={"retriever_resources": [], "usage": self._usage()}, files=None)

    def _stream_tokens(self):
        fail_at = len(self.tokens) // 2 if self.command.name in ("fail", "crash") else -1
        started = time.monotonic()
        for index, token in enumerate(self.tokens):
            if index == fail_at:
                if self.command.name == "crash":
                    raise InvocationError("request failed: connection reset by peer")
                yield self._error_event()
                return "failed"
            if self.delay:  # an absolute schedule, like a model's pace: a slow reader delays, never stretches it
                gevent.sleep(max(0.0, started + (index + 1) * self.delay - time.monotonic()))
            yield self._token_event(token)
            if index == 0 and self.command.name == "pause":
                gevent.sleep(self.command.number(1, 3600))
        if fail_at >= 0 and not self.tokens:
            yield self._error_event()
            return "failed"
        return "done"

    def _token_event(self, token: str) -> dict:
        if self.app.mode == "workflow":
            return self.event("text_chunk", data={"text": token, "from_variable_selector": ["llm", "text"]})
        if self.app.mode == "agent-chat":
            return self.event("agent_message", id=self.message_id, answer=token)
        selector = ["llm", "text"] if self.app.mode == "advanced-chat" else None
        return self.event("message", id=self.message_id, answer=token, from_variable_selector=selector)

    def _error_event(self) -> dict:
        event = {k: v for k, v in self.event("error").items() if k != "task_id"}
        return {**event, "code": "completion_request_error", "status": 400,
                "message": "[demo] The model failed in the middle of its answer."}

    def _sys_inputs(self) -> dict:
        inputs = {**self.inputs, "sys.files": [], "sys.user_id": "DEFAULT-USER", "sys.app_id": self.app.app_id,
                  "sys.workflow_id": f"wf-{self.app.app_id}", "sys.workflow_run_id": self.run_id}
        if self.app.mode == "advanced-chat":
            inputs.update({"sys.query": self.query, "sys.conversation_id": self.base["conversation_id"],
                           "sys.dialogue_count": 1})
        return inputs

    def _node(self, finished: bool) -> dict:
        node = {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, self.run_id)), "node_id": "llm", "node_type": "llm",
                "title": "LLM", "index": 2, "predecessor_node_id": "start", "inputs": None,
                "inputs_truncated": False, "created_at": self.created_at, "extras": {}, "iteration_id": None,
                "loop_id": None, "agent_strategy": None}
        if finished:
            node.update({"inputs": {}, "process_data": {}, "process_data_truncated": False,
                         "outputs": {"text": "".join(self.tokens)}, "outputs_truncated": False,
                         "status": "succeeded", "error": None, "elapsed_time": 0.01,
                         "execution_metadata": {"total_tokens": 12, "total_price": "0.0000120", "currency": "USD"},
                         "finished_at": self.created_at, "files": []})
            del node["agent_strategy"]
        return node

    def _workflow_result(self) -> dict:
        return {"id": self.run_id, "workflow_id": f"wf-{self.app.app_id}", "status": "succeeded",
                "outputs": {"text": "".join(self.tokens)}, "error": None, "elapsed_time": 0.01,
                "total_tokens": 12, "total_steps": 3,
                "created_by": {"id": "end-user-demo", "user": "DEFAULT-USER"},
                "created_at": self.created_at, "finished_at": self.created_at, "exceptions_count": 0, "files": []}

    def _usage(self) -> dict:
        return {**USAGE, "completion_tokens": len(self.tokens), "total_tokens": 12 + len(self.tokens)}


def _blocking(app: DemoApp, events: list[dict]) -> dict:
    """The blocking answer Dify builds from the same run (section 2.7 of the app semantics)."""
    errors = [e for e in events if e["event"] == "error"]
    if app.mode == "workflow":
        finished = next((e for e in events if e["event"] == "workflow_finished"), None)
        data = dict(finished["data"]) if finished else {"status": "failed", "error": errors[0]["message"]}
        for key in ("created_by", "exceptions_count", "files"):
            data.pop(key, None)
        return {"task_id": events[0]["task_id"], "workflow_run_id": events[0]["workflow_run_id"], "data": data}
    if errors:
        raise dify_http_error(400, errors[0]["code"], errors[0]["message"])
    end = events[-1]
    answer = "".join(e.get("answer", "") for e in events if e["event"] == "message")
    result = {"event": "message", "task_id": end["task_id"], "id": end["message_id"],
              "message_id": end["message_id"], "conversation_id": end.get("conversation_id"), "mode": app.mode,
              "answer": answer, "metadata": end["metadata"], "created_at": end["created_at"]}
    if app.mode == "completion":
        del result["conversation_id"]
    return result
