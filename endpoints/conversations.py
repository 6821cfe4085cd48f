from dify_plugin import Endpoint
from werkzeug import Response

import duck
from duck import service_api


class Conversations(Endpoint):
    """GET /apps/<app_id>/conversations?user= lists the conversations Duck started for that user;
    DELETE /apps/<app_id>/conversations/<conversation_id> (user in the body or the query) forgets one."""

    @duck.handler
    def _invoke(self, r, values, settings):
        app_id = duck.allowed_app(settings, values["app_id"])
        if r.method == "GET":
            query = duck.validate(service_api.ConversationQuery, dict(r.args.items()))
            return duck.json_response(service_api.list_conversations(self.session.storage, app_id, query))
        body = (
            duck.parse_body(r, service_api.ConversationDelete)
            if r.content_length
            else duck.validate(service_api.ConversationDelete, dict(r.args.items()))
        )
        service_api.delete_conversation(self.session.storage, app_id, values["conversation_id"], body.user)
        return Response(status=204)
