"""Duck's own errors: the Service API's answers for apps, conversations and modes."""

from __future__ import annotations

from endpoint_kit import EndpointError


def app_not_found() -> EndpointError:
    return EndpointError(404, "app_not_found", "App not found.")


def conversation_not_found() -> EndpointError:
    return EndpointError(404, "not_found", "Conversation Not Exists.")


def completion_apps_unsupported(certain: bool) -> EndpointError:
    """Dify fails every Completion app invoked by a plugin (see duck.dify_errors); 501: no retry or
    other request can succeed, the feature is missing upstream. `certain` on the completion route."""
    why = (
        "Dify cannot run Completion (text generator) apps for plugins: its plugin invocation leaves out "
        "the query such apps need, so the app fails inside Dify before it starts."
    )
    instead = "Use a Workflow app (same inputs, an LLM node) or a Chatbot app instead."
    if certain:
        return EndpointError(501, "completion_apps_unsupported", f"{why} {instead}")
    return EndpointError(
        501,
        "completion_apps_unsupported",
        f"Dify failed before starting this app (500 Internal Server Error). If it is a Completion app: "
        f"{why} {instead} Otherwise the app's logs in Dify say what failed.",
    )


# The Service API's answer when an app's mode does not match the route it was called on.
_MODE_MISMATCH = {
    "chat": (400, "not_chat_app", "Please check if your app mode matches the right API route."),
    "workflow": (400, "not_workflow_app", "Please check if your app mode matches the right API route."),
    "completion": (400, "app_unavailable", "App unavailable, please check your app configurations."),
}
MODE_ROUTES = tuple(_MODE_MISMATCH)


def mode_mismatch(expect: str) -> EndpointError:
    return EndpointError(*_MODE_MISMATCH[expect])
