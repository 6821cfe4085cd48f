import json

from dify_plugin import Endpoint
from werkzeug import Response

# One of the benchmark's events, encoded once: the same size as the frames Duck produces for it.
EVENT = {
    "event": "message",
    "conversation_id": "45701982-8118-4bc5-8e9b-64562b4555f2",
    "message_id": "9da23599-e713-473b-982c-4328d4f5c78a",
    "created_at": 1705407629,
    "task_id": "900bbd43-dc0b-4383-a372-aa6e6c414227",
    "id": "9da23599-e713-473b-982c-4328d4f5c78a",
    "from_variable_selector": None,
    "answer": "tok50000 ",
}
FRAME = b"data: " + json.dumps(EVENT, separators=(",", ":")).encode() + b"\n\n"


class Floor(Endpoint):
    """The floor: consume the same app stream, yield bytes that need no encoding at all."""

    def _invoke(self, r, values, settings):
        events = self.session.app.chat.invoke(values["app_id"], "hello", {}, "streaming")
        return Response((FRAME for _ in events), status=200, content_type="text/event-stream")
