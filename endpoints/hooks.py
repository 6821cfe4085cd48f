from dify_plugin import Endpoint

import duck
from duck import deliveries, webhooks


class Hooks(Endpoint):
    """POST /hooks/<app_id>: a GitHub, Stripe, Slack, Discord, Shopify or Standard Webhooks delivery,
    checked against the sender's own signature and run once, answered in the sender's shape."""

    @duck.hook_handler
    def _invoke(self, r, values, settings):
        app_id = duck.allowed_app(settings, values["app_id"])
        delivery = webhooks.read(r, settings.webhook_provider or "standard")
        early = webhooks.handshake(delivery)
        if early is not None:
            return duck.json_response(early)
        return deliveries.run_once(self.session, app_id, delivery, settings)
