"""Request bodies with the Service API's field names, and parsing raw requests into them."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from werkzeug import Request

from endpoint_kit import EndpointError, canonical_uuid, invalid_param

# NUL cannot be stored by Dify's database; refusing it here gives a 400 instead of Dify's 500.
Text = Annotated[str, StringConstraints(pattern=r"^[^\x00]*$")]
MAX_JSON_DEPTH = 64


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
    content_type = request.mimetype
    if content_type and content_type != "application/json" and not content_type.endswith("+json"):
        raise EndpointError(415, "unsupported_media_type", "Content-Type must be application/json.")
    return validate(model, _decode_json(raw_body(request)))


# Go's Request.Write sends an empty POST/PUT body as `Transfer-Encoding: chunked` with this one
# terminating chunk; the SDK passes those 5 bytes on and drops the header, so they mean "no body".
# The daemon sends every non-empty body with a Content-Length, so nothing else is chunked.
_EMPTY_CHUNKED_BODY = b"0\r\n\r\n"


def raw_body(request: Request) -> bytes:
    """The request body as the caller sent it."""
    data = request.get_data(cache=True)
    return b"" if data == _EMPTY_CHUNKED_BODY else data


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
    check_tree(data)
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


def check_tree(value: object) -> None:
    """400 for what no app can receive, anywhere in the body (checked breadth-first, no recursion):
    nesting over MAX_JSON_DEPTH levels; NUL characters (Dify's database refuses them: a 500 there);
    lone UTF-16 surrogates such as "\\ud800" (they cannot be written as UTF-8 on the way to Dify);
    integers beyond 64 bits (the SDK and Dify cannot carry them)."""
    level = [value]
    for _ in range(MAX_JSON_DEPTH + 1):
        children = []
        for item in level:
            if isinstance(item, dict):
                children.extend(item.keys())
                children.extend(item.values())
            elif isinstance(item, list):
                children.extend(item)
            elif isinstance(item, str):
                _check_text(item)
            elif isinstance(item, int) and not isinstance(item, bool) and not -(2**63) <= item < 2**64:
                raise invalid_param("The request body holds an integer beyond 64 bits.")
        if not children:
            return
        level = children
    raise invalid_param("The request body is nested too deeply.")


def _check_text(text: str) -> None:
    if text.isascii():
        if "\x00" in text:
            raise invalid_param("The request body must not contain NUL characters (\\u0000).")
        return
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise invalid_param(
            "The request body holds a lone UTF-16 surrogate (an unpaired \\ud800-\\udfff escape)."
        ) from None
    if "\x00" in text:
        raise invalid_param("The request body must not contain NUL characters (\\u0000).")


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
