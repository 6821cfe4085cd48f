from dify_plugin import Endpoint

import duck
from duck import health


class Health(Endpoint):
    """GET /health: liveness, the effective request limits and the storage state; needs no key, reveals no secret."""

    @duck.public_handler
    def _invoke(self, r, values, settings):
        limits = {"max_body_bytes": settings.max_body_bytes, "max_upload_bytes": settings.max_upload_bytes}
        return duck.json_response(
            {
                **health.report(duck.NAME, duck.VERSION, self.session.storage),
                "runtime": duck.runtime(self.session),
                "limits": limits,
            }
        )
