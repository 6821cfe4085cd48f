from dify_plugin import Endpoint

import duck
from endpoint_kit import app_response


class CompletionMessages(Endpoint):
    """POST /apps/<app_id>/completion-messages: Completion (text generator) apps."""

    @duck.handler
    def _invoke(self, r, values, settings):
        app_id = duck.allowed_app(settings, values["app_id"])
        body = duck.parse_body(r, duck.CompletionRequest)
        return app_response(r, duck.invoke.completion(self.session, app_id, body))
