from dify_plugin import Endpoint

import duck


class Parameters(Endpoint):
    """GET /apps/<app_id>/parameters: the app's input form and features."""

    @duck.handler
    def _invoke(self, r, values, settings):
        app_id = duck.allowed_app(settings, values["app_id"])
        return duck.json_response(duck.invoke.parameters(self.session, app_id))
