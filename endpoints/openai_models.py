from dify_plugin import Endpoint

import duck
from duck import openai


class Models(Endpoint):
    """GET /v1/models and GET /v1/models/<model_id>: the apps this endpoint serves as OpenAI models."""

    @openai.handler
    def _invoke(self, r, values, settings):
        if "model_id" not in values:
            return duck.json_response(openai.models(self.session, settings))
        app_id = duck.allowed_app(settings, openai.resolve_model(values["model_id"], settings))
        return duck.json_response(openai.model(self.session, app_id))
