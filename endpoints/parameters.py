from dify_plugin import Endpoint

import duck
from endpoint_kit import app_parameters, json_response


class Parameters(Endpoint):
    """GET /apps/<app_id>/parameters: the app's input form and features."""

    @duck.handler
    def _invoke(self, r, values, settings):
        app_id = duck.allowed_app(settings, values["app_id"])
        return json_response(app_parameters(self.session, app_id))
