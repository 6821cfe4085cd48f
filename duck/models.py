"""Request bodies with the Service API's field names, and parsing raw requests into them."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from werkzeug import Request

from endpoint_kit import canonical_uuid, invalid_param, json_body

# NUL cannot be stored by Dify's database; refusing it here gives a 400 instead of Dify's 500.
Text = Annotated[str, StringConstraints(pattern=r"^[^\x00]*$")]


def _conversation_id(value: str) -> str | None:
    """Empty means none; otherwise a UUID (Dify's column type: anything else is a 500 there), canonical."""
    if not value:
        return None
    canonical = canonical_uuid(value)
    if canonical is None:
        raise ValueError("must be a conversation id (a UUID) returned by an earlier answer")
    return canonical


# Canonical so that every spelling of one conversation maps to one owner record (duck.conversations).
ConversationId = Annotated[str, AfterValidator(_conversation_id)]


class _Body(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)

    inputs: dict[str, Any] = Field(default_factory=dict)
    response_mode: Literal["streaming", "blocking"] = "streaming"
    user: Annotated[Text, Field(max_length=255)] | None = None
    # Dify cannot receive `files` through a plugin; duck.files maps them onto a file input, or refuses.
    files: list[Any] | None = None


class ChatRequest(_Body):
    query: Annotated[Text, Field(min_length=1)]
    conversation_id: ConversationId | None = None


class WorkflowRequest(_Body):
    pass


class CompletionRequest(_Body):
    pass


class RunRequest(_Body):
    query: Annotated[Text, Field(min_length=1)] | None = None
    conversation_id: ConversationId | None = None


def parse_body[M: BaseModel](request: Request, model: type[M]) -> M:
    """Decode a JSON object body and validate it; every failure is a 4xx EndpointError."""
    return validate(model, json_body(request))


def validate[M: BaseModel](model: type[M], data: object) -> M:
    if not isinstance(data, dict):
        raise invalid_param("The request body must be a JSON object.")
    try:
        body = model.model_validate(data)
    except ValidationError as e:
        raise invalid_param(_describe(e)) from None
    return body


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or "body"
    if first["type"] == "missing":
        return f"{field} is required."
    if first["type"] == "string_pattern_mismatch":
        return f"{field} must not contain NUL characters."
    if first["type"] == "value_error":
        return f"{field} {first['ctx']['error']}."
    return f"{field}: {first['msg']}."
