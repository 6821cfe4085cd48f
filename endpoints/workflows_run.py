from dify_plugin import Endpoint

import duck


class WorkflowsRun(Endpoint):
    """POST /apps/<app_id>/workflows/run: Workflow apps."""

    @duck.handler
    def _invoke(self, r, values, settings):
        app_id = duck.allowed_app(settings, values["app_id"])
        body = duck.parse_body(r, duck.WorkflowRequest)
        return duck.respond(r, duck.invoke.workflow(self.session, app_id, body))
