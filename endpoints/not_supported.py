from dify_plugin import Endpoint

import duck
from duck import service_api


class NotSupported(Endpoint):
    """Service API routes a plugin cannot serve: 501 not_supported, saying why (after the key is checked)."""

    @duck.handler
    def _invoke(self, r, values, settings):
        duck.allowed_app(settings, values["app_id"])
        raise service_api.not_supported(r.path, r.method)
