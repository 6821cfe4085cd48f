import pytest

from duck.errors import DuckError
from duck.settings import DEFAULT_MAX_BODY_BYTES, MAX_BODY_BYTES_CEILING, parse_settings


def test_typical_settings():
    s = parse_settings({"api_key": " k ", "app": {"app_id": "a1"}, "cors_allowed_origins": "https://a.x, https://b.x/",
                        "max_body_bytes": "2048", "signing_secret": "s"})
    assert (s.api_key, s.app_id, s.cors_allowed_origins, s.max_body_bytes, s.signing_secret) == (
        "k", "a1", ("https://a.x", "https://b.x"), 2048, "s")


@pytest.mark.parametrize("app, expected", [({"app_id": "x"}, "x"), ("x", "x"), ({}, None), ("", None),
                                           (None, None), ({"app_id": None}, None), (["x"], None)])
def test_app_selector_shapes(app, expected):
    assert parse_settings({"api_key": "k", "app": app}).app_id == expected


@pytest.mark.parametrize("value, expected", [(None, DEFAULT_MAX_BODY_BYTES), ("", DEFAULT_MAX_BODY_BYTES),
                                             ("abc", DEFAULT_MAX_BODY_BYTES), (0, DEFAULT_MAX_BODY_BYTES),
                                             ("-5", DEFAULT_MAX_BODY_BYTES), (100, 100), ("1e3", 1000),
                                             (True, DEFAULT_MAX_BODY_BYTES), (10**12, MAX_BODY_BYTES_CEILING)])
def test_max_body_bytes_is_parsed_defensively(value, expected):
    assert parse_settings({"api_key": "k", "max_body_bytes": value}).max_body_bytes == expected


@pytest.mark.parametrize("raw", [None, {}, {"api_key": ""}, {"api_key": "  "}, {"api_key": None},
                                 {"api_key": {"x": 1}}, "not a mapping"])
def test_missing_key_is_a_configuration_error(raw):
    with pytest.raises(DuckError) as e:
        parse_settings(raw)
    assert (e.value.status, e.value.code) == (503, "not_configured")


def test_origins_from_a_list_and_wildcard():
    assert parse_settings({"api_key": "k", "cors_allowed_origins": ["*", "*"]}).cors_allowed_origins == ("*",)
