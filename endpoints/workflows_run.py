from dify_plugin import Endpoint

import duck
from endpoint_kit import app_response


class WorkflowsRun(Endpoint):
    """POST /apps/<app_id>/workflows/run: Workflow apps."""

    @duck.handler
    def _invoke(self, r, values, settings):
        app_id = duck.allowed_app(settings, values["app_id"])
        body = duck.parse_body(r, duck.WorkflowRequest)
        return app_response(r, duck.invoke.workflow(self.session, app_id, body))
