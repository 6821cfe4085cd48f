import json

from dify_plugin import Endpoint
from werkzeug import Response


class PerEvent(Endpoint):
    """One chunk per app event, as Duck streamed before it coalesced: the query in, SSE frames out."""

    def _invoke(self, r, values, settings):
        query = json.loads(r.get_data() or b"{}").get("query") or "hello"
        events = self.session.app.chat.invoke(values["app_id"], query, {}, "streaming")
        return Response(
            (b"data: " + json.dumps(e, separators=(",", ":")).encode() + b"\n\n" for e in events),
            status=200,
            content_type="text/event-stream",
        )
