import json

from dify_plugin import Endpoint
from werkzeug import Response


class DocsDuck(Endpoint):
    """The Duck example from Dify's docs, as published: JSON plus <br> as text/html."""

    def _invoke(self, r, values, settings):
        def generator():
            response = self.session.app.chat.invoke(
                app_id=values["app_id"], query="hello", inputs={}, response_mode="streaming"
            )
            for data in response:
                yield f"{json.dumps(data)} <br>"

        return Response(generator(), status=200, content_type="text/html")
