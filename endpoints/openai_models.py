from dify_plugin import Endpoint

import duck
from duck import openai


class Models(Endpoint):
    """GET /v1/models: the apps this endpoint serves as OpenAI models."""

    @openai.handler
    def _invoke(self, r, values, settings):
        duck.authenticate(r, settings)
        return duck.json_response(openai.models(settings))
