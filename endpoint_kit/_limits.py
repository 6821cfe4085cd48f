"""How large a request body may be: the plugin's setting, within what the daemon can carry per runtime.

What no accepted request may reach, per runtime (the SDK's INSTALL_METHOD, `session.install_method`):
- Local (stdio): the daemon kills a plugin that writes a stdout line over 5 MiB
  (PLUGIN_RUNTIME_MAX_BUFFER_SIZE, default 5242880, `internal/types/app/config.go`), and the line
  that calls an app carries the body's text, twice when a route also passes it as an input. JSON text
  never grows when it is written again (control characters are already escaped in a JSON body), so a
  body of half the line, less room for the envelope, is safe.
- Local and remote: the daemon truncates request bodies at 10 MiB (`internal/service/endpoint.go`,
  `io.LimitReader(req.Body, 10*1024*1024)`); uploads go on to Dify over HTTP, not on that line, so
  they may come closer to it.
- Serverless: the daemon refuses a request whose message passes MAX_SERVERLESS_REQUEST_BYTES (default
  5242880, `config.go`) after hex encoding, which doubles the raw HTTP request
  (`internal/core/serverless_runtime/io.go`).
"""

from __future__ import annotations

from endpoint_kit._settings import Settings

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
DEFAULT_MAX_UPLOAD_BYTES = 8 * 1024 * 1024

_LINE_LIMIT = 5 * 1024 * 1024
ENVELOPE_BYTES = 64 * 1024  # headers, settings and JSON around the text; also the multipart framing
_TRUNCATED_AT = 10 * 1024 * 1024
_BODY_CEILING = (_LINE_LIMIT - ENVELOPE_BYTES) // 2
_SERVERLESS_CEILING = _LINE_LIMIT // 2 - ENVELOPE_BYTES
_CEILINGS = {  # runtime -> (body, upload)
    "local": (_BODY_CEILING, _TRUNCATED_AT - ENVELOPE_BYTES),
    "remote": (_BODY_CEILING, _TRUNCATED_AT - ENVELOPE_BYTES),
    "serverless": (_SERVERLESS_CEILING, _SERVERLESS_CEILING - ENVELOPE_BYTES),
}


def body_ceiling(runtime: str) -> int:
    """The largest body a handler may accept in this runtime (an unknown runtime counts as local)."""
    return _CEILINGS.get(runtime, _CEILINGS["local"])[0]


def upload_ceiling(runtime: str) -> int:
    """The largest file upload (sent on to Dify over HTTP) a handler may accept in this runtime."""
    return _CEILINGS.get(runtime, _CEILINGS["local"])[1]


def max_body_bytes(settings: Settings) -> int:
    """The `max_body_bytes` setting (1 MiB when unset), within the runtime's ceiling: the wrapper's default."""
    return settings.number("max_body_bytes", DEFAULT_MAX_BODY_BYTES, minimum=1, maximum=body_ceiling(settings.runtime))


def max_upload_bytes(settings: Settings) -> int:
    """The `max_upload_bytes` setting (8 MiB when unset), within the runtime's upload ceiling."""
    return settings.number(
        "max_upload_bytes", DEFAULT_MAX_UPLOAD_BYTES, minimum=1, maximum=upload_ceiling(settings.runtime)
    )
