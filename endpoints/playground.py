from dify_plugin import Endpoint

from duck import public_handler, static


class Playground(Endpoint):
    """GET /playground and /playground/<asset>: a page to try the apps; no key and no settings to load it."""

    @public_handler
    def _invoke(self, r, values, settings):
        return static.page() if "asset" not in values else static.asset(values["asset"])
