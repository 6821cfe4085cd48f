"""Request bodies with the Service API's field names, and parsing raw requests into them."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from werkzeug import Request

from duck.errors import DuckError, invalid_param

# NUL cannot be stored by Dify's database; refusing it here gives a 400 instead of Dify's 500.
Text = Annotated[str, StringConstraints(pattern=r"^[^\x00]*$")]
MAX_JSON_DEPTH = 64


class _Body(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)

    inputs: dict[str, Any] = Field(default_factory=dict)
    response_mode: Literal["streaming", "blocking"] = "streaming"
    user: Annotated[Text, Field(max_length=255)] | None = None
    # Dify cannot receive `files` through a plugin; duck.files maps them onto a file input, or refuses.
    files: list[Any] | None = None


class ChatRequest(_Body):
    query: Annotated[Text, Field(min_length=1)]
    conversation_id: Annotated[Text, Field(max_length=64)] | None = None


class WorkflowRequest(_Body):
    pass


class CompletionRequest(_Body):
    pass


class RunRequest(_Body):
    query: Annotated[Text, Field(min_length=1)] | None = None
    conversation_id: Annotated[Text, Field(max_length=64)] | None = None


def parse_body[M: BaseModel](request: Request, model: type[M]) -> M:
    """Decode a JSON object body and validate it; every failure is a 4xx DuckError."""
    content_type = request.mimetype
    if content_type and content_type != "application/json" and not content_type.endswith("+json"):
        raise DuckError(415, "unsupported_media_type", "Content-Type must be application/json.")
    return validate(model, _decode_json(request.get_data(cache=True)))


def validate[M: BaseModel](model: type[M], data: object) -> M:
    if not isinstance(data, dict):
        raise invalid_param("The request body must be a JSON object.")
    try:
        body = model.model_validate(data)
    except ValidationError as e:
        raise invalid_param(_describe(e)) from None
    return body


def _decode_json(raw: bytes) -> object:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise invalid_param("The request body is not valid UTF-8.") from None
    if not text.strip():
        raise invalid_param("The request body is empty; send a JSON object.")
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except RecursionError:
        raise invalid_param("The request body is nested too deeply.") from None
    except ValueError as e:
        raise invalid_param(f"The request body is not valid JSON: {e}") from None
    if _too_deep(data):
        raise invalid_param("The request body is nested too deeply.")
    return data


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict:
    result: dict = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _no_constants(name: str) -> None:
    raise ValueError(f"{name} is not allowed")


def _too_deep(value: object) -> bool:
    """True when containers nest more than MAX_JSON_DEPTH levels (checked breadth-first, no recursion)."""
    level = [value]
    for _ in range(MAX_JSON_DEPTH + 1):
        level = [
            child
            for item in level
            if isinstance(item, dict | list)
            for child in (item.values() if isinstance(item, dict) else item)
        ]
        if not level:
            return False
    return True


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or "body"
    if first["type"] == "missing":
        return f"{field} is required."
    if first["type"] == "string_pattern_mismatch":
        return f"{field} must not contain NUL characters."
    return f"{field}: {first['msg']}."
