from dify_plugin import Endpoint

import duck
from endpoint_kit import app_response


class Run(Endpoint):
    """POST /apps/<app_id>/run: any app; Dify runs it by its own mode and the answer has that shape."""

    @duck.handler
    def _invoke(self, r, values, settings):
        app_id = duck.allowed_app(settings, values["app_id"])
        body = duck.parse_body(r, duck.RunRequest)
        return app_response(r, duck.invoke.run(self.session, app_id, body))
