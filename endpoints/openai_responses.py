from dify_plugin import Endpoint

import duck
from duck import openai, openai_responses


class Responses(Endpoint):
    """POST /v1/responses: any Dify app behind OpenAI's Responses API."""

    @openai.handler
    def _invoke(self, r, values, settings):
        body = duck.parse_body(r, openai_responses.ResponsesRequest)
        app_id = duck.allowed_app(settings, openai.resolve_model(body.model, settings))
        started = openai_responses.start(self.session, app_id, body, settings)
        return openai_responses.respond(self.session, settings, app_id, body, started)
