"""A bare plugin for the dev kit's tests: it makes one reverse call and answers what the SDK gave back,
or the text of what it raised, verbatim (Duck translates errors; this shows what a plugin receives)."""

import json

from dify_plugin import Endpoint
from werkzeug import Request, Response


class Probe(Endpoint):
    def _invoke(self, r: Request, values: dict, settings: dict) -> Response:
        call = r.get_json()
        app, storage = self.session.app, self.session.storage
        calls = {
            "chat": lambda: list(
                app.chat.invoke(call["app_id"], call["query"], {}, "streaming", call.get("conversation_id"))
            ),
            "completion": lambda: app.completion.invoke(call["app_id"], {"text": "x"}, "blocking"),
            "fetch_app": lambda: app.fetch_app(call["app_id"]),
            "set": lambda: storage.set(call["key"], b"x" * call["size"]),
            "get": lambda: storage.get(call["key"]).decode(),
        }
        try:
            answer = {"result": calls[call["kind"]]()}
        except Exception as e:
            answer = {"error": str(e)}
        return Response(json.dumps(answer), content_type="application/json")
