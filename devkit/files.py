"""Dify's file upload, as the local runtime answers it: a signed URL on its own HTTP server."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from werkzeug import Request

from devkit.errors import InvocationError, dify_http_error

# Dify's default upload limit (system_parameters.file_size_limit, 15 MB).
MAX_FILE_BYTES = 15 * 1024 * 1024
UPLOAD_PREFIX = "/files/upload/"


@dataclass
class StoredFile:
    id: str
    name: str
    mime_type: str
    content: bytes

    def record(self) -> dict:
        return {"id": self.id, "name": self.name, "size": len(self.content),
                "extension": PurePosixPath(self.name).suffix.lstrip("."), "mime_type": self.mime_type,
                "preview_url": None}


@dataclass
class FileStore:
    """Uploaded files, kept in memory, and the one-time upload URLs the plugin posts them to."""

    base_url: str = ""  # set once the HTTP server listens
    files: dict[str, StoredFile] = field(default_factory=dict)
    pending: dict[str, tuple[str, str]] = field(default_factory=dict)  # token -> (filename, mimetype)

    def signed_url(self, request: dict) -> dict:
        """Answer an `upload_file` invocation: where the plugin should POST the file."""
        if not self.base_url:
            raise InvocationError("file uploads need the local runtime's HTTP server (python -m devkit serve)")
        token = secrets.token_urlsafe(16)
        self.pending[token] = (str(request.get("filename") or "file"), str(request.get("mimetype") or ""))
        return {"url": f"{self.base_url}{UPLOAD_PREFIX}{token}"}

    def receive(self, environ) -> tuple[int, dict]:
        """The signed URL's handler: a multipart POST with a `file` part; 201 with the file record."""
        token = environ.get("PATH_INFO", "")[len(UPLOAD_PREFIX):]
        if environ["REQUEST_METHOD"] != "POST" or token not in self.pending:
            return 404, {"code": "not_found", "message": "unknown or used upload URL"}
        request = Request(environ)
        if (request.content_length or 0) > MAX_FILE_BYTES + 64 * 1024:
            return 413, {"code": "file_too_large", "message": f"files are limited to {MAX_FILE_BYTES} bytes"}
        part = request.files.get("file")
        if part is None:
            return 400, {"code": "no_file_uploaded", "message": "no file part"}
        name, mimetype = self.pending.pop(token)
        content = part.read()
        stored = StoredFile(str(uuid.uuid4()), part.filename or name, part.mimetype or mimetype, content)
        self.files[stored.id] = stored
        return 201, stored.record()

    def describe(self, value: object) -> str:
        """How a demo app mentions a file input it received."""
        if isinstance(value, list):
            return ", ".join(self.describe(v) for v in value)
        if not isinstance(value, dict):
            return ""
        if value.get("transfer_method") == "remote_url":
            return f"file {value.get('url')}"
        stored = self.files.get(str(value.get("tool_file_id") or value.get("upload_file_id") or ""))
        if stored is None:
            raise dify_http_error(400, "invalid_param", "Invalid upload file id.")
        digest = hashlib.sha256(stored.content).hexdigest()[:12]
        return f"file {stored.name} ({len(stored.content)} bytes, sha256 {digest})"
