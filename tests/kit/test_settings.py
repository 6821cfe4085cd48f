"""Settings: each accessor reads what Dify sends for one setting, and never raises on what it cannot read."""

import pytest

from endpoint_kit import Settings


def test_text_is_stripped_and_anything_else_is_unset():
    s = Settings({"a": " k ", "n": 5, "b": True, "d": {"x": 1}, "none": None})
    assert (s.text("a"), s.text("n"), s.text("b"), s.text("d"), s.text("none"), s.text("missing", "dflt")) == (
        "k",
        "5",
        "",
        "",
        "",
        "dflt",
    )


@pytest.mark.parametrize("raw", [None, "not a mapping", ["a"]])
def test_a_missing_or_malformed_mapping_is_empty(raw):
    s = Settings(raw, "serverless")
    assert (s.raw, s.runtime, s.text("api_key"), s.items("x")) == ({}, "serverless", "", ())


@pytest.mark.parametrize(
    "value, expected",
    [
        (True, True),
        ("true", True),
        ("TRUE", True),
        ("1", True),
        ("on", True),
        (False, False),
        ("no", False),
        (None, False),
        (1, True),
    ],
)
def test_flags(value, expected):
    assert Settings({"f": value}).flag("f") is expected


@pytest.mark.parametrize(
    "value, expected",
    [
        (None, 7),
        ("", 7),
        ("abc", 7),
        (0, 7),
        ("-5", 7),
        (100, 100),
        ("1e3", 1000),
        ("1_000", 1000),
        (True, 7),
        ("1e400", 7),
        (10**12, 5000),
    ],
)
def test_numbers_are_read_defensively(value, expected):
    assert Settings({"n": value}).number("n", 7, minimum=1, maximum=5000) == expected


def test_a_number_without_bounds():
    assert Settings({"n": "-3"}).number("n", 7) == -3


def test_choice_falls_back_on_unknown_values():
    s = Settings({"mode": "fast", "other": "weird"})
    assert s.choice("mode", ("fast", "slow")) == "fast"
    assert s.choice("other", ("fast", "slow"), "slow") == "slow"
    assert s.choice("missing", ["fast"]) is None
    assert s.choice("mode", {"fast": "Fast", "slow": "Slow"}) == "fast"  # any collection of names, a dict's keys too


@pytest.mark.parametrize(
    "value, expected",
    [
        ("https://a.x, https://b.x  https://a.x", ("https://a.x", "https://b.x")),
        (["*", "*", " x ", None, ""], ("*", "x")),
        (None, ()),
        ({"a": 1}, ()),
    ],
)
def test_items_from_a_list_or_separated_text(value, expected):
    assert Settings({"l": value}).items("l") == expected


@pytest.mark.parametrize(
    "app, expected",
    [
        ({"app_id": "x"}, "x"),
        ("x", "x"),
        ({}, None),
        ("", None),
        (None, None),
        ({"app_id": None}, None),
        (["x"], None),
        ({"app_id": "0A6B2F3C1D2E4F508A9B0C1D2E3F4A5B"}, "0a6b2f3c-1d2e-4f50-8a9b-0c1d2e3f4a5b"),
    ],
)
def test_app_selector_shapes(app, expected):
    assert Settings({"app": app}).app_id("app") == expected


def test_repr_names_settings_but_never_their_values():
    assert "secret-value" not in repr(Settings({"api_key": "secret-value"}))
