from dify_plugin import Endpoint

import duck
from duck import service_api


class AppInfo(Endpoint):
    """GET /apps/<app_id>/info: what Duck has learnt of the app (its mode, once an answer showed it)."""

    @duck.handler
    def _invoke(self, r, values, settings):
        app_id = duck.allowed_app(settings, values["app_id"])
        return duck.json_response(service_api.info(self.session.storage, app_id))
