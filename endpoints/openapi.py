from dify_plugin import Endpoint

import duck
from duck import openapi


class OpenAPI(Endpoint):
    """GET /openapi.json: this endpoint's routes as OpenAPI 3.1 (public, like /health); cacheable."""

    @duck.public_handler
    def _invoke(self, r, values, settings):
        return openapi.cacheable(r, duck.json_response(openapi.document(openapi.public_base_url(r))))
