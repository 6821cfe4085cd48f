"""Body limits: the plugin's setting, within what the daemon can carry in each runtime."""

import pytest

from endpoint_kit import (
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_UPLOAD_BYTES,
    Settings,
    body_ceiling,
    max_body_bytes,
    max_upload_bytes,
    upload_ceiling,
)

LINE_LIMIT = 5 * 1024 * 1024  # the daemon's stdout line limit, and its serverless request limit (hex)


@pytest.mark.parametrize("runtime", ["local", "remote", "serverless"])
def test_no_accepted_request_can_reach_the_runtimes_limits(runtime):
    huge = Settings({"max_body_bytes": 10**9, "max_upload_bytes": 10**9}, runtime)
    body, upload = max_body_bytes(huge), max_upload_bytes(huge)
    assert (body, upload) == (body_ceiling(runtime), upload_ceiling(runtime))
    # An app call's stdout line may carry the body's text twice (a query and an input).
    assert 2 * body < LINE_LIMIT - 32 * 1024
    if runtime == "serverless":  # the whole request, hex-encoded, must stay under 5 MiB
        assert 2 * (upload + 64 * 1024) < LINE_LIMIT
    else:  # the upload goes to Dify over HTTP; only the daemon's 10 MiB truncation applies
        assert upload + 64 * 1024 <= 10 * 1024 * 1024
    assert max_upload_bytes(Settings({}, runtime)) <= upload


def test_defaults_and_the_setting():
    assert max_body_bytes(Settings({})) == DEFAULT_MAX_BODY_BYTES
    assert max_upload_bytes(Settings({})) == DEFAULT_MAX_UPLOAD_BYTES
    assert max_body_bytes(Settings({"max_body_bytes": "2048"})) == 2048
    assert max_body_bytes(Settings({"max_body_bytes": "0"})) == DEFAULT_MAX_BODY_BYTES


def test_an_unknown_runtime_counts_as_local():
    assert body_ceiling("elsewhere") == body_ceiling("local")
