from collections.abc import Mapping

from dify_plugin import Endpoint
from werkzeug import Request, Response


class Hello(Endpoint):
    """GET /hello/<what>: answers at once; /hello/huge yields one 6 MiB chunk; /hello/app calls an app."""

    def _invoke(self, r: Request, values: Mapping, settings: Mapping) -> Response:
        what = values["what"]
        if what == "huge":
            return Response((piece for piece in [b"x" * (6 * 1024 * 1024)]), content_type="text/plain")
        if what == "app":
            answer = self.session.app.chat.invoke("demo-chat", "hi", {}, "blocking")
            return Response(answer["answer"], content_type="text/plain")
        if what == "print":
            print("this corrupts the protocol channel")
        return Response(f"hello {what}", content_type="text/plain")
