from dify_plugin import Endpoint
from werkzeug import Response

import duck
from duck import auth, routes
from endpoint_kit import allowed_origin, preflight_headers


class Fallback(Endpoint):
    """Every request no route matched: CORS preflights, wrong methods and unknown paths, as JSON."""

    @duck.fallback_handler
    def _invoke(self, r, values, settings):
        methods = routes.allowed_methods(r.path)
        origins = settings.cors_allowed_origins
        if r.method == "OPTIONS" and (methods or allowed_origin(r, origins)):
            return Response(status=204, headers=preflight_headers(r, origins, methods, auth.CORS_HEADERS))
        if methods:
            allow = ", ".join(methods)
            raise duck.EndpointError(405, "method_not_allowed", f"Use {allow} on this route.", {"Allow": allow})
        raise duck.EndpointError(404, "not_found", "Route not found.")
