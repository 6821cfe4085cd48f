"""endpoint_kit: the generic parts of a Dify endpoint plugin, for handlers that parse, authorize,
invoke and encode.

Plugins get a vendored copy of this package (`devkit new` / `devkit update` put it there), so a
`.difypkg` installs from PyPI alone. Its version is `__version__`; edit it here, never in a copy.
"""

from endpoint_kit._errors import NO_RETRY, EndpointError, internal_error, invalid_param
from endpoint_kit._ids import canonical_id, canonical_uuid
from endpoint_kit._signatures import SCHEMES as SIGNATURE_SCHEMES
from endpoint_kit._store import BoundedMap, last_refusal

__version__ = "0.1.0"

__all__ = [
    "NO_RETRY",
    "SIGNATURE_SCHEMES",
    "BoundedMap",
    "EndpointError",
    "__version__",
    "canonical_id",
    "canonical_uuid",
    "internal_error",
    "invalid_param",
    "last_refusal",
]
