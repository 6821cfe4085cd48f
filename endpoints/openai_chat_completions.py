from dify_plugin import Endpoint

import duck
from duck import openai, openai_chat


class ChatCompletions(Endpoint):
    """POST /v1/chat/completions: any Dify app behind the OpenAI chat completions API."""

    @openai.handler
    def _invoke(self, r, values, settings):
        body = duck.parse_body(r, openai_chat.ChatCompletionRequest)
        app_id = duck.allowed_app(settings, openai.resolve_model(body.model, settings))
        return openai_chat.respond(self.session, body, openai_chat.start(self.session, app_id, body, settings))
