from dify_plugin import Endpoint

import duck
from duck import openapi


class OpenAPI(Endpoint):
    """GET /openapi.json: this endpoint's routes as OpenAPI 3.1 (public, like /health)."""

    @duck.handler
    def _invoke(self, r, values, settings):
        hook_url = r.headers.get("Dify-Hook-Url", "")
        base = hook_url.removesuffix("/openapi.json") if hook_url.endswith("/openapi.json") else None
        return duck.json_response(openapi.document(base))
