from dify_plugin import Endpoint
from werkzeug import Response

import duck
from duck import cors, routes


class Fallback(Endpoint):
    """Every request no route matched: CORS preflights, wrong methods and unknown paths, as JSON."""

    @duck.handler
    def _invoke(self, r, values, settings):
        methods = routes.allowed_methods(r.path)
        if r.method == "OPTIONS" and (methods or cors.allowed_origin(r, settings)):
            return Response(status=204, headers=cors.preflight_headers(r, settings, methods))
        if methods:
            allow = ", ".join(methods)
            raise duck.EndpointError(405, "method_not_allowed", f"Use {allow} on this route.", {"Allow": allow})
        raise duck.EndpointError(404, "not_found", "Route not found.")
