from dify_plugin import Endpoint

import duck
from duck import openai, routes


class OpenAIFallback(Endpoint):
    """Every /v1 request no route matched: unknown paths and wrong methods, in OpenAI's error shape."""

    @openai.fallback_handler
    def _invoke(self, r, values, settings):
        methods = routes.allowed_methods(r.path)
        if methods:
            allow = ", ".join(methods)
            raise duck.EndpointError(405, "method_not_allowed", f"Use {allow} on {r.path}.", {"Allow": allow})
        raise duck.EndpointError(404, "unknown_url", f"Unrecognized request URL ({r.method} {r.path}).")
