from dify_plugin import Endpoint

import duck
from endpoint_kit import text_response


class Duck(Endpoint):
    """GET /duck/<app_id>?query=...: the docs' Duck example, done right; the answer as plain text."""

    @duck.handler
    def _invoke(self, r, values, settings):
        app_id = duck.allowed_app(settings, values["app_id"])
        body = duck.validate(duck.ChatRequest, {"query": r.args.get("query", "")})
        return text_response(duck.invoke.chat(self.session, app_id, body))
