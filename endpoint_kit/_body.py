"""Reading a request body safely: bounded, UTF-8 checked, and every bad input a 4xx EndpointError.

The handler wrapper refuses a body over its limit (413) from Content-Length before a reader runs, and
sets `request.max_content_length` so that werkzeug also refuses to read past it (413) when a body comes
without a length. `max_bytes` here bounds one reader further, e.g. a route that takes less than the rest.
"""

from __future__ import annotations

import io
import json
from typing import Any
from urllib.parse import parse_qsl

from werkzeug import Request
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.formparser import FormDataParser

from endpoint_kit._errors import EndpointError, invalid_param

MAX_JSON_DEPTH = 64
MAX_FORM_PARTS = 1000  # werkzeug's own default for multipart bodies, applied to url-encoded ones too
MAX_FORM_FIELD_BYTES = 500_000  # werkzeug's max_form_memory_size default: one multipart text field

# Go's Request.Write sends an empty POST/PUT body as `Transfer-Encoding: chunked` with this one
# terminating chunk; the SDK passes those 5 bytes on and drops the header, so they mean "no body".
# The daemon sends every non-empty body with a Content-Length, so nothing else is chunked.
_EMPTY_CHUNKED_BODY = b"0\r\n\r\n"
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def raw_body(request: Request, max_bytes: int | None = None) -> bytes:
    """The body as the caller sent it (read once, then cached on the request); 413 over `max_bytes`."""
    if max_bytes is not None and (request.content_length or 0) > max_bytes:
        raise too_large(max_bytes)
    try:
        data = request.get_data(cache=True)
    except RequestEntityTooLarge:  # past request.max_content_length, set by the handler wrapper
        raise too_large(request.max_content_length or max_bytes or 0) from None
    if max_bytes is not None and len(data) > max_bytes:
        raise too_large(max_bytes)
    return b"" if data == _EMPTY_CHUNKED_BODY else data


def text_body(request: Request, max_bytes: int | None = None) -> str:
    """The body as text; 400 when it is not UTF-8 (whatever charset Content-Type names)."""
    try:
        return raw_body(request, max_bytes).decode("utf-8")
    except UnicodeDecodeError:
        raise invalid_param("The request body is not valid UTF-8.") from None


def json_body(request: Request, max_bytes: int | None = None) -> Any:
    """The JSON body, decoded and checked (see check_tree); 415 for another Content-Type, 400 when it
    is empty, malformed, has duplicate keys, NaN/Infinity, or holds what no app can receive.

    No Content-Type is accepted as JSON (curl -d sends form-encoded by default, many senders send none).
    """
    content_type = request.mimetype
    if content_type and content_type != "application/json" and not content_type.endswith("+json"):
        raise EndpointError(415, "unsupported_media_type", "Content-Type must be application/json.")
    text = text_body(request, max_bytes)
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


def form_body(
    request: Request,
    max_bytes: int | None = None,
    max_parts: int = MAX_FORM_PARTS,
    max_field_bytes: int = MAX_FORM_FIELD_BYTES,
) -> MultiDict[str, str]:
    """The fields of a form body (application/x-www-form-urlencoded or multipart/form-data's text parts);
    415 for another Content-Type; 400 when a field is not UTF-8 (percent-decoded too), holds NUL, or the
    form is malformed; 413 past `max_parts` fields or a field over `max_field_bytes`.
    """
    if request.mimetype not in _FORM_TYPES:
        raise EndpointError(
            415,
            "unsupported_media_type",
            "Content-Type must be application/x-www-form-urlencoded or multipart/form-data.",
        )
    raw = raw_body(request, max_bytes)
    if request.mimetype == "multipart/form-data":
        fields = _multipart_fields(raw, request, max_parts, max_field_bytes)
    else:
        fields = _urlencoded_fields(raw, max_parts)
        if any(len(value.encode()) > max_field_bytes for _, value in fields.items(multi=True)):
            raise _too_large_form(max_parts, max_field_bytes)
    for name, value in fields.items(multi=True):
        _check_text(name)
        _check_text(value)
    return fields


def check_tree(value: object) -> None:
    """400 for what no app can receive, anywhere in a decoded body (checked breadth-first, no recursion):
    nesting over MAX_JSON_DEPTH levels; NUL characters (Dify's database refuses them: a 500 there);
    lone UTF-16 surrogates such as "\\ud800" (they cannot be written as UTF-8 on the way to Dify);
    integers beyond 64 bits (the SDK and Dify cannot carry them)."""
    level = [value]
    for _ in range(MAX_JSON_DEPTH + 1):
        children: list[object] = []
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


def too_large(limit: int) -> EndpointError:
    return EndpointError(413, "request_entity_too_large", f"The request body exceeds {limit} bytes.")


def _urlencoded_fields(raw: bytes, max_parts: int) -> MultiDict[str, str]:
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, errors="strict", max_num_fields=max_parts)
    except UnicodeDecodeError:
        raise invalid_param("The form body is not valid UTF-8 (percent-decoded).") from None
    except ValueError:  # max_num_fields exceeded
        raise _too_large_form(max_parts, None) from None
    return MultiDict(pairs)


def _multipart_fields(raw: bytes, request: Request, max_parts: int, max_field_bytes: int) -> MultiDict[str, str]:
    parser = FormDataParser(max_form_memory_size=max_field_bytes, max_form_parts=max_parts, silent=False)
    try:
        _, fields, _files = parser.parse(io.BytesIO(raw), request.mimetype, len(raw), request.mimetype_params)
    except RequestEntityTooLarge:
        raise _too_large_form(max_parts, max_field_bytes) from None
    except ValueError as e:
        raise invalid_param(f"The form body is malformed: {e}") from None
    # werkzeug decodes multipart fields with errors="replace": more U+FFFD in the fields than the
    # body spells in UTF-8 means bytes that were not UTF-8.
    replaced = sum(value.count("\ufffd") + name.count("\ufffd") for name, value in fields.items(multi=True))
    if replaced > raw.count("\ufffd".encode()):
        raise invalid_param("The form body is not valid UTF-8.")
    return fields


def _too_large_form(max_parts: int, max_field_bytes: int | None) -> EndpointError:
    field = f" or a field over {max_field_bytes} bytes" if max_field_bytes is not None else ""
    return EndpointError(413, "request_entity_too_large", f"The form has more than {max_parts} fields{field}.")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _no_constants(name: str) -> None:
    raise ValueError(f"{name} is not allowed")


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
