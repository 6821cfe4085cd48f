from dify_plugin import Endpoint

import duck


class Duck(Endpoint):
    """GET /duck/<app_id>?query=...: the docs' Duck example, done right; the answer as plain text."""

    @duck.handler
    def _invoke(self, r, values, settings):
        app_id = duck.authorize(r, settings, values["app_id"])
        body = duck.validate(duck.ChatRequest, {"query": r.args.get("query", "")})
        events = duck.invoke.chat(self.session, app_id, body)
        return duck.text_stream(e.get("answer") or "" for e in events if e.get("event") in ("message", "agent_message"))
