from dify_plugin import Endpoint

import duck
from endpoint_kit import app_response


class ChatMessages(Endpoint):
    """POST /apps/<app_id>/chat-messages: Chatbot, Agent and Chatflow apps."""

    @duck.handler
    def _invoke(self, r, values, settings):
        app_id = duck.allowed_app(settings, values["app_id"])
        body = duck.parse_body(r, duck.ChatRequest)
        return app_response(r, duck.invoke.chat(self.session, app_id, body))
