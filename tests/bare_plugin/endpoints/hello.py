from collections.abc import Mapping

from dify_plugin import Endpoint
from werkzeug import Request, Response


class Hello(Endpoint):
    """GET /hello/<what>: answers at once; /hello/huge yields one 6 MiB chunk; /hello/app calls an app;
    /hello/app-huge calls an app with a 6 MiB query; /hello/chunks streams 3000 SSE frames of ~200 bytes, one chunk each; /hello/late-error fails after its
    first chunk."""

    def _invoke(self, r: Request, values: Mapping, settings: Mapping) -> Response:
        what = values["what"]
        if what == "huge":
            return Response((piece for piece in [b"x" * (6 * 1024 * 1024)]), content_type="text/plain")
        if what == "app":
            answer = self.session.app.chat.invoke("demo-chat", "hi", {}, "blocking")
            return Response(answer["answer"], content_type="text/plain")
        if what == "app-huge":  # the invocation line itself is over 5 MiB
            answer = self.session.app.chat.invoke("demo-chat", "x" * (6 * 1024 * 1024), {}, "blocking")
            return Response(answer["answer"], content_type="text/plain")
        if what == "chunks":  # many small chunks at once, as a plugin without coalescing sends them
            return Response(_frames(3000), content_type="text/event-stream")
        if what == "late-error":
            return Response(_fail_after_one_chunk(), content_type="text/plain")
        if what == "print":
            print("this corrupts the protocol channel")
        return Response(f"hello {what}", content_type="text/plain")


def _fail_after_one_chunk():
    yield b"first "
    raise RuntimeError("failed after the first chunk")


def _frames(count: int):
    for i in range(count):
        yield f'data: {{"i": {i}, "pad": "{"x" * 180}"}}\n\n'
