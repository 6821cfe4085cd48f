"""endpoint_kit: the generic parts of a Dify endpoint plugin, for handlers that parse, authorize,
invoke and encode.

Plugins get a vendored copy of this package (`devkit new` / `devkit update` put it there), so a
`.difypkg` installs from PyPI alone. Its version is `__version__`; edit it here, never in a copy.
The public API is what this module exports; docs/kit.md describes it.
"""

from endpoint_kit._auth import (
    Policy,
    key_auth,
    key_matches,
    key_refused,
    no_auth,
    not_configured,
    presented_key,
    signature_auth,
    unauthorized,
    verify_signature,
)
from endpoint_kit._body import check_tree, form_body, json_body, raw_body, text_body
from endpoint_kit._cors import allowed_origin, allowed_origins, cors_headers, preflight_headers
from endpoint_kit._dify_errors import (
    app_not_found,
    as_endpoint_error,
    completion_apps_unsupported,
    conversation_not_found,
    dify_error,
    error_event,
    from_error_event,
    mode_mismatch,
)
from endpoint_kit._encoders import NDJSON, SSE, Event, Framing, render_text
from endpoint_kit._errors import NO_RETRY, EndpointError, internal_error, invalid_param
from endpoint_kit._handler import endpoint, runtime
from endpoint_kit._ids import canonical_id, canonical_uuid
from endpoint_kit._invoke import app_fields, app_kind, app_parameters, run_app, stream_app
from endpoint_kit._limits import (
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_UPLOAD_BYTES,
    body_ceiling,
    max_body_bytes,
    max_upload_bytes,
    upload_ceiling,
)
from endpoint_kit._responses import MAX_CHUNK_BYTES, error_response, json_bytes, json_response, within_chunk_limit
from endpoint_kit._settings import Settings
from endpoint_kit._signatures import SCHEMES as SIGNATURE_SCHEMES
from endpoint_kit._store import BoundedMap, last_refusal
from endpoint_kit._streaming import (
    AppStream,
    app_response,
    ndjson_response,
    sse_response,
    stream_response,
    text_response,
)

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_MAX_UPLOAD_BYTES",
    "MAX_CHUNK_BYTES",
    "NDJSON",
    "NO_RETRY",
    "SIGNATURE_SCHEMES",
    "SSE",
    "AppStream",
    "BoundedMap",
    "EndpointError",
    "Event",
    "Framing",
    "Policy",
    "Settings",
    "__version__",
    "allowed_origin",
    "allowed_origins",
    "app_fields",
    "app_kind",
    "app_not_found",
    "app_parameters",
    "app_response",
    "as_endpoint_error",
    "body_ceiling",
    "canonical_id",
    "canonical_uuid",
    "check_tree",
    "completion_apps_unsupported",
    "conversation_not_found",
    "cors_headers",
    "dify_error",
    "endpoint",
    "error_event",
    "error_response",
    "form_body",
    "from_error_event",
    "internal_error",
    "invalid_param",
    "json_body",
    "json_bytes",
    "json_response",
    "key_auth",
    "key_matches",
    "key_refused",
    "last_refusal",
    "max_body_bytes",
    "max_upload_bytes",
    "mode_mismatch",
    "ndjson_response",
    "no_auth",
    "not_configured",
    "preflight_headers",
    "presented_key",
    "raw_body",
    "render_text",
    "run_app",
    "runtime",
    "signature_auth",
    "sse_response",
    "stream_app",
    "stream_response",
    "text_body",
    "text_response",
    "unauthorized",
    "upload_ceiling",
    "verify_signature",
    "within_chunk_limit",
]
