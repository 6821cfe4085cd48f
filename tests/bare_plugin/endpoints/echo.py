import json
from collections.abc import Mapping

from dify_plugin import Endpoint
from werkzeug import Request, Response


class Echo(Endpoint):
    """/echo/... (GET, POST, PUT): the request exactly as the SDK parsed it, as JSON."""

    def _invoke(self, r: Request, values: Mapping, settings: Mapping) -> Response:
        seen = {
            "method": r.method,
            "path": r.environ["PATH_INFO"],
            "query": r.environ["QUERY_STRING"],
            "headers": [[k, v] for k, v in r.headers.items()],
            "body": r.get_data().decode("latin-1"),
            "settings": dict(settings),
        }
        return Response(json.dumps(seen), content_type="application/json")
