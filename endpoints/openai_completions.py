from dify_plugin import Endpoint

import duck
from duck import openai, openai_completions


class Completions(Endpoint):
    """POST /v1/completions: any Dify app behind OpenAI's legacy completions API."""

    @openai.handler
    def _invoke(self, r, values, settings):
        body = duck.parse_body(r, openai_completions.TextCompletionRequest)
        app_id = duck.allowed_app(settings, openai.resolve_model(body.model, settings))
        return openai_completions.respond(body, openai_completions.start(self.session, app_id, body, settings))
