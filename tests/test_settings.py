"""Duck's typed settings, read through endpoint_kit's accessors (the accessors have tests/kit/test_settings.py)."""

import pytest

from duck.settings import DuckSettings, duck_settings
from endpoint_kit import DEFAULT_MAX_BODY_BYTES, Settings, body_ceiling


def parse(raw, runtime="local") -> DuckSettings:
    return duck_settings(Settings(raw, runtime))


def test_typical_settings():
    s = parse(
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
    assert parse({"api_key": "k", "app": app}).app_id == expected


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
        (10**12, body_ceiling("local")),
    ],
)
def test_max_body_bytes_is_parsed_defensively(value, expected):
    assert parse({"api_key": "k", "max_body_bytes": value}).max_body_bytes == expected


@pytest.mark.parametrize(
    "raw", [None, {}, {"api_key": ""}, {"api_key": "  "}, {"api_key": None}, {"api_key": {"x": 1}}, "not a mapping"]
)
def test_a_missing_key_reads_as_empty(raw):
    """Routes that need it answer 503 not_configured (duck.auth's policies; tests/test_endpoints.py)."""
    assert parse(raw).api_key == ""


def test_origins_from_a_list_and_wildcard():
    assert parse({"api_key": "k", "cors_allowed_origins": ["*", "*"]}).cors_allowed_origins == ("*",)


def test_selects_and_flags():
    s = parse({"openai_memory": "transcript", "webhook_provider": "gitlab", "allow_key_in_url": "true"})
    assert (s.openai_memory, s.webhook_provider, s.allow_key_in_url) == ("transcript", None, True)
    assert parse({"openai_models": "A, b a"}).openai_models == ("A", "b", "a")
    assert parse({"signature_scheme": "v2_or_body_only"}).accept_body_only_signatures
