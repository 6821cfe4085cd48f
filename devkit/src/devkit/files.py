"""Dify's file upload for plugins, as the local runtime answers it: a signed URL on its own HTTP server.

A plugin's `session.file.upload` asks the daemon for a signed URL (`upload_file`), then POSTs the file
there (`requests.post(url, files=..., timeout=10)`, SDK invocations/file.py). Dify signs
`upload|filename|mimetype|tenant|user|timestamp|nonce` with HMAC-SHA256 and refuses the POST when the
part's filename or mimetype differ or the URL is older than FILES_ACCESS_TIMEOUT (300 s)
(api/core/file/helpers.py `get_signed_file_url_for_plugin` / `verify_plugin_file_signature`). The
file becomes a ToolFile (api/controllers/files/upload.py `PluginUploadFileApi`): apps accept it only as
`{"transfer_method": "tool_file", "tool_file_id": ...}`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import mimetypes
import secrets
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import quote

from werkzeug import Request

from devkit.errors import InvocationError, value_error

# Dify's default upload limit (system_parameters.file_size_limit, 15 MB).
MAX_FILE_BYTES = 15 * 1024 * 1024
FILES_ACCESS_TIMEOUT = 300  # seconds; Dify's default (configs FILES_ACCESS_TIMEOUT)
UPLOAD_PREFIX = "/files/upload/"  # the HTTP server hands this prefix to FileStore.receive
UPLOAD_PATH = "/files/upload/for-plugin"
TENANT_ID = "00000000-0000-0000-0000-000000000001"  # the local runtime's one workspace
USER_ID = "DEFAULT-USER"  # endpoint sessions carry no user; Dify's get_user falls back to this


@dataclass
class StoredFile:
    """A ToolFile: what Dify stores for a plugin's upload."""

    id: str
    name: str
    mime_type: str
    content: bytes

    @property
    def extension(self) -> str:
        # Dify: `guess_extension(tool_file.mimetype) or ".bin"`: from the mimetype, with its dot.
        return mimetypes.guess_extension(self.mime_type) or ".bin"

    def record(self, base_url: str, secret: bytes) -> dict:
        """PluginUploadFileApi's 201 body (fields/file_fields.py FileResponse)."""
        return {
            "id": self.id,
            "name": self.name,
            "size": len(self.content),
            "extension": self.extension,
            "mime_type": self.mime_type,
            "created_by": None,
            "created_at": None,
            "preview_url": _signed_tool_file_url(base_url, secret, self.id, self.extension),
            "source_url": None,
            "original_url": None,
            "user_id": USER_ID,
            "tenant_id": TENANT_ID,
            "conversation_id": None,
            "file_key": f"tools/{TENANT_ID}/{self.id}{self.extension}",
        }


@dataclass
class FileStore:
    """Uploaded files (ToolFiles), kept in memory, and the signed upload URLs the plugin posts them to."""

    base_url: str = ""  # set once the HTTP server listens
    files: dict[str, StoredFile] = field(default_factory=dict)
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))  # Dify's SECRET_KEY
    access_timeout: float = FILES_ACCESS_TIMEOUT

    def signed_url(self, request: dict) -> dict:
        """Answer an `upload_file` invocation: where the plugin should POST the file."""
        if not self.base_url:
            raise InvocationError("file uploads need the local runtime's HTTP server (python -m devkit serve)")
        filename, mimetype = str(request.get("filename") or ""), str(request.get("mimetype") or "")
        timestamp, nonce = str(int(time.time())), secrets.token_hex(16)
        sign = self._sign(f"upload|{filename}|{mimetype}|{TENANT_ID}|{USER_ID}|{timestamp}|{nonce}")
        return {
            "url": f"{self.base_url}{UPLOAD_PATH}?timestamp={timestamp}&nonce={nonce}&sign={quote(sign)}"
            f"&user_id={USER_ID}&tenant_id={TENANT_ID}"
        }

    def receive(self, environ) -> tuple[int, dict]:
        """The signed URL's handler: a multipart POST with a `file` part; 201 with the file record."""
        request = Request(environ)
        if request.method != "POST" or request.path != UPLOAD_PATH:
            return 404, {
                "code": "not_found",
                "message": "The requested URL was not found on the server.",
                "status": 404,
            }
        if (request.content_length or 0) > MAX_FILE_BYTES + 64 * 1024:
            return 413, {
                "code": "file_too_large",
                "message": f"File size exceeded. {MAX_FILE_BYTES} bytes",
                "status": 413,
            }
        part = request.files.get("file")
        if part is None:
            return 403, _forbidden("File is required.")
        args = request.args
        if not part.filename or not part.mimetype or not self._valid(args, part.filename, part.mimetype):
            return 403, _forbidden("Invalid request.")
        stored = StoredFile(str(uuid.uuid4()), part.filename, part.mimetype, part.read())
        self.files[stored.id] = stored
        return 201, stored.record(self.base_url, self.secret)

    def describe(self, value: object) -> str:
        """How a demo app mentions a file input; raises as Dify's file_factory does for a bad reference."""
        if isinstance(value, list):
            return ", ".join(self.describe(v) for v in value)
        if not isinstance(value, dict):
            return ""
        method = value.get("transfer_method")
        if method == "remote_url":
            if not value.get("url"):
                raise value_error("Invalid file url")
            return f"file {value['url']}"
        if method == "local_file":
            # Only ToolFiles exist here, and an UploadFile lookup never finds one (file_factory._build_from_local_file).
            raise value_error("Invalid upload file")
        if method == "tool_file":
            stored = self.files.get(str(value.get("tool_file_id") or ""))
            if stored is None:
                raise value_error(f"ToolFile {value.get('tool_file_id')} not found")
            digest = hashlib.sha256(stored.content).hexdigest()[:12]
            return f"file {stored.name} ({len(stored.content)} bytes, sha256 {digest})"
        raise value_error(f"No matching enum found for value '{method}'")  # FileTransferMethod.value_of

    def _sign(self, message: str) -> str:
        return base64.urlsafe_b64encode(hmac.new(self.secret, message.encode(), hashlib.sha256).digest()).decode()

    def _valid(self, args, filename: str, mimetype: str) -> bool:
        timestamp, nonce, sign = args.get("timestamp", ""), args.get("nonce", ""), args.get("sign", "")
        user_id = args.get("user_id") or USER_ID
        if not (timestamp.isdigit() and nonce and sign and args.get("tenant_id") == TENANT_ID):
            return False
        expected = self._sign(f"upload|{filename}|{mimetype}|{TENANT_ID}|{user_id}|{timestamp}|{nonce}")
        return hmac.compare_digest(sign, expected) and time.time() - int(timestamp) <= self.access_timeout


def _forbidden(message: str) -> dict:
    return {"code": "forbidden", "message": message, "status": 403}


def _signed_tool_file_url(base_url: str, secret: bytes, file_id: str, extension: str) -> str:
    """ToolFileManager.sign_file: a preview URL for the ToolFile, signed and timed like the upload URL."""
    timestamp, nonce = str(int(time.time())), secrets.token_hex(16)
    digest = hmac.new(secret, f"file-preview|{file_id}|{timestamp}|{nonce}".encode(), hashlib.sha256).digest()
    sign = base64.urlsafe_b64encode(digest).decode()
    return f"{base_url}/files/tools/{file_id}{extension}?timestamp={timestamp}&nonce={nonce}&sign={quote(sign)}"
