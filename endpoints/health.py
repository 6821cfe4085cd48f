from dify_plugin import Endpoint

import duck


class Health(Endpoint):
    """GET /health: liveness and the effective request limits; needs no key, reveals no secret."""

    @duck.public_handler
    def _invoke(self, r, values, settings):
        limits = {"max_body_bytes": settings.max_body_bytes, "max_upload_bytes": settings.max_upload_bytes}
        return duck.json_response({"status": "ok", "name": duck.NAME, "version": duck.VERSION,
                                   "runtime": duck.runtime(self.session), "limits": limits})
