import pytest

from duck.settings import CEILINGS, DEFAULT_MAX_BODY_BYTES, parse_settings
from endpoint_kit import EndpointError


def test_typical_settings():
    s = parse_settings(
        {
            "api_key": " k ",
            "app": {"app_id": "a1"},
            "cors_allowed_origins": "https://a.x, https://b.x/",
            "max_body_bytes": "2048",
            "signing_secret": "s",
        }
    )
    assert (s.api_key, s.app_id, s.cors_allowed_origins, s.max_body_bytes, s.signing_secret) == (
        "k",
        "a1",
        ("https://a.x", "https://b.x"),
        2048,
        "s",
    )


@pytest.mark.parametrize(
    "app, expected",
    [({"app_id": "x"}, "x"), ("x", "x"), ({}, None), ("", None), (None, None), ({"app_id": None}, None), (["x"], None)],
)
def test_app_selector_shapes(app, expected):
    assert parse_settings({"api_key": "k", "app": app}).app_id == expected


@pytest.mark.parametrize(
    "value, expected",
    [
        (None, DEFAULT_MAX_BODY_BYTES),
        ("", DEFAULT_MAX_BODY_BYTES),
        ("abc", DEFAULT_MAX_BODY_BYTES),
        (0, DEFAULT_MAX_BODY_BYTES),
        ("-5", DEFAULT_MAX_BODY_BYTES),
        (100, 100),
        ("1e3", 1000),
        (True, DEFAULT_MAX_BODY_BYTES),
        (10**12, CEILINGS["local"][0]),
    ],
)
def test_max_body_bytes_is_parsed_defensively(value, expected):
    assert parse_settings({"api_key": "k", "max_body_bytes": value}).max_body_bytes == expected


@pytest.mark.parametrize(
    "raw", [None, {}, {"api_key": ""}, {"api_key": "  "}, {"api_key": None}, {"api_key": {"x": 1}}, "not a mapping"]
)
def test_missing_key_is_a_configuration_error(raw):
    with pytest.raises(EndpointError) as e:
        parse_settings(raw)
    assert (e.value.status, e.value.code) == (503, "not_configured")


def test_origins_from_a_list_and_wildcard():
    assert parse_settings({"api_key": "k", "cors_allowed_origins": ["*", "*"]}).cors_allowed_origins == ("*",)


LINE_LIMIT = 5 * 1024 * 1024  # the daemon's stdout line limit, and its serverless request limit (hex)


@pytest.mark.parametrize("runtime", ["local", "remote", "serverless"])
def test_no_accepted_request_can_reach_the_runtimes_limits(runtime):
    s = parse_settings({"api_key": "k", "max_body_bytes": 10**9, "max_upload_bytes": 10**9}, runtime)
    # The app call's stdout line carries the body's text twice on the OpenAI route.
    assert 2 * s.max_body_bytes < LINE_LIMIT - 32 * 1024
    if runtime == "serverless":  # the whole request, hex-encoded, must stay under 5 MiB
        assert 2 * (s.max_upload_bytes + 64 * 1024) < LINE_LIMIT and 2 * s.max_body_bytes < LINE_LIMIT
    else:  # the upload goes to Dify over HTTP; only the daemon's 10 MiB truncation applies
        assert s.max_upload_bytes + 64 * 1024 <= 10 * 1024 * 1024
    assert parse_settings({"api_key": "k"}, runtime).max_upload_bytes <= s.max_upload_bytes


def test_settings_without_a_key_when_none_is_needed():
    assert parse_settings({}, require_key=False).max_body_bytes == DEFAULT_MAX_BODY_BYTES
