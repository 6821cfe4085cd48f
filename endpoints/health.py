from dify_plugin import Endpoint

import duck


class Health(Endpoint):
    """GET /health: liveness, with no settings and no app data."""

    @duck.handler
    def _invoke(self, r, values, settings):
        return duck.json_response({"status": "ok", "name": duck.NAME, "version": duck.VERSION})
