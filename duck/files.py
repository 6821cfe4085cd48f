"""Files: uploads into Dify, file-typed inputs, and the Service API's `files` field.

Dify cannot receive `files` through a plugin (the SDK has no such parameter), but it accepts file
values inside `inputs`. So Duck validates file values, and maps `files` onto the app's one file input.
"""

from __future__ import annotations

import time
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator
from werkzeug import Request

from endpoint_kit import EndpointError, dify_error, invalid_param

FILE_TYPES = ("file", "file-list")
HOW_TO_SEND_FILES = (
    "give the file as the value of the app's file input in inputs "
    '({"type": "document", "transfer_method": "remote_url", "url": "https://..."}, '
    "or the value returned by POST /files/upload)"
)
# Multipart framing around the file itself; the limit is on the file.
MULTIPART_OVERHEAD = 64 * 1024


class FileValue(BaseModel):
    """One file as Dify's inputs accept it."""

    model_config = ConfigDict(extra="allow", strict=True)

    type: Literal["image", "document", "audio", "video", "custom"]
    transfer_method: Literal["remote_url", "local_file", "tool_file"]
    url: str | None = None
    upload_file_id: str | None = None
    tool_file_id: str | None = None

    @model_validator(mode="after")
    def _reference_matches_method(self) -> FileValue:
        needed = {"remote_url": "url", "local_file": "upload_file_id", "tool_file": "tool_file_id"}[
            self.transfer_method
        ]
        if not getattr(self, needed):
            raise ValueError(f"transfer_method {self.transfer_method} needs {needed}")
        if self.url is not None and not self.url.startswith(("https://", "http://")):
            raise ValueError("url must be an http(s) URL")
        return self


def prepare_inputs(session, app_id: str, inputs: dict, files: list | None) -> dict:
    """Inputs with file values checked against the app's form and `files` mapped onto its file input.

    The form is fetched only when there is something to check: a dict or list among the inputs, or files.
    """
    if not files and not any(isinstance(v, dict | list) for v in inputs.values()):
        return inputs
    form = _file_inputs(session, app_id)
    inputs = dict(inputs)
    if files:
        if len(form) != 1:
            raise invalid_param(
                f"This app has {len(form)} file inputs, so files cannot be mapped; {HOW_TO_SEND_FILES}."
            )
        ((name, kind),) = form.items()
        if name in inputs:
            raise invalid_param(f"Give the file either in files or in inputs.{name}, not both.")
        if kind == "file" and len(files) != 1:
            raise invalid_param(f"inputs.{name} takes one file; {len(files)} were given.")
        inputs[name] = files if kind == "file-list" else files[0]
    for name, kind in form.items():
        if inputs.get(name) is not None:
            _check(name, kind, inputs[name])
    return inputs


def _check(name: str, kind: str, value: object) -> None:
    items = value if kind == "file-list" else [value]
    if not isinstance(items, list) or (kind == "file" and not isinstance(value, dict)):
        raise invalid_param(
            f"inputs.{name} must be {'a list of file objects' if kind == 'file-list' else 'a file object'}"
            f"; {HOW_TO_SEND_FILES}."
        )
    for item in items:
        try:
            FileValue.model_validate(item)
        except ValidationError as e:
            first = e.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise invalid_param(f"inputs.{name}{'.' + where if where else ''}: {first['msg']}.") from None


def _file_inputs(session, app_id: str) -> dict[str, str]:
    try:
        parameters = session.app.fetch_app(app_id)
    except Exception as e:
        raise dify_error(e) from None
    found = {}
    for entry in parameters.get("user_input_form") or []:
        for kind, spec in (entry or {}).items():
            if kind in FILE_TYPES and isinstance(spec, dict) and spec.get("variable"):
                found[spec["variable"]] = kind
    return found


def upload(session, request: Request, limit: int) -> dict:
    """Store the request's `file` part in Dify; the answer holds the value to use in inputs."""
    if request.mimetype != "multipart/form-data":
        raise EndpointError(
            415, "unsupported_media_type", "Upload with Content-Type multipart/form-data and a part named file."
        )
    part = request.files.get("file")
    if part is None:
        raise EndpointError(400, "no_file_uploaded", "Please upload your file in a part named file.")
    if not part.filename:
        raise EndpointError(400, "filename_not_exists_error", "The file part has no filename.")
    content = part.stream.read(limit + 1)
    if len(content) > limit:
        raise EndpointError(413, "file_too_large", f"The file exceeds {limit} bytes.")
    mimetype = part.mimetype or "application/octet-stream"
    try:
        record = session.file.upload(part.filename, content, mimetype)
    except Exception as e:
        raise dify_error(e) from None
    # The Service API's upload answer also names who uploaded and when; the SDK's record drops both,
    # so they are the caller's `user` form field (as the Service API takes it) and the time of upload.
    user = request.form.get("user") or None
    return {
        "id": record.id,
        "name": record.name,
        "size": record.size,
        "extension": (record.extension or "").lstrip("."),
        "mime_type": record.mime_type,
        "created_by": user,
        "created_at": int(time.time()),
        "value": record.to_app_parameter(),
    }
