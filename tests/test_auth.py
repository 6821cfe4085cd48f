import time

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from duck.auth import authorize, sign
from duck.errors import DuckError
from duck.settings import Settings

SETTINGS = Settings(api_key="secret-key", signing_secret="hook-secret")


def request(headers=None, body=b""):
    return Request(EnvironBuilder(method="POST", headers=headers or {}, data=body).get_environ())


@pytest.mark.parametrize("headers", [{"Authorization": "Bearer secret-key"}, {"Authorization": "bearer  secret-key "},
                                     {"X-API-Key": "secret-key"}])
def test_accepted_key_places(headers):
    assert authorize(request(headers), SETTINGS, "app-1") == "app-1"


@pytest.mark.parametrize("headers, message", [
    ({}, "Authorization header must be provided and start with 'Bearer'."),
    ({"Authorization": ""}, "Access token is invalid."),
    ({"Authorization": "Bearer"}, "Access token is invalid."),
    ({"Authorization": "Basic secret-key"}, "Access token is invalid."),
    ({"Authorization": "Bearer wrong"}, "Access token is invalid."),
    ({"Authorization": "Bearer secret-key-longer"}, "Access token is invalid."),
    ({"X-API-Key": ""}, "Access token is invalid."),
    ({"X-API-Key": "secret-kez"}, "Access token is invalid."),
    # Authorization takes precedence: a wrong bearer is not rescued by a right X-API-Key.
    ({"Authorization": "Bearer wrong", "X-API-Key": "secret-key"}, "Access token is invalid."),
])
def test_refusals_are_401_and_reveal_nothing(headers, message):
    with pytest.raises(DuckError) as e:
        authorize(request(headers), SETTINGS, "app-1")
    assert (e.value.status, e.value.code, e.value.message) == (401, "unauthorized", message)
    assert e.value.headers["WWW-Authenticate"] == 'Bearer realm="api"'
    assert "secret" not in e.value.message


def test_401_comes_before_any_app_check():
    with pytest.raises(DuckError) as e:
        authorize(request({"Authorization": "Bearer nope"}), Settings(api_key="k", app_id="a"), "../etc")
    assert e.value.status == 401


@pytest.mark.parametrize("app_id", ["other", "../x", "a" * 65, "a b", "", "é"])
def test_app_outside_pin_or_malformed_is_404(app_id):
    with pytest.raises(DuckError) as e:
        authorize(request({"X-API-Key": "k"}), Settings(api_key="k", app_id="pinned"), app_id)
    assert (e.value.status, e.value.code) == (404, "app_not_found")


def test_signature_mode():
    body = b'{"query":"hi"}'
    now = str(int(time.time()))
    good = {"X-Duck-Timestamp": now, "X-Duck-Signature": sign("hook-secret", now, body)}
    assert authorize(request(good, body), SETTINGS) is None
    for bad in ({**good, "X-Duck-Signature": sign("other", now, body)},
                {**good, "X-Duck-Timestamp": str(int(now) - 301)},
                {"X-Duck-Timestamp": now, "X-Duck-Signature": "sha256=00"}):
        with pytest.raises(DuckError) as e:
            authorize(request(bad, body), SETTINGS)
        assert e.value.message == "Signature is invalid or older than 5 minutes."
    with pytest.raises(DuckError):  # a tampered body
        authorize(request(good, body + b" "), SETTINGS)
    with pytest.raises(DuckError):  # signatures count only when a secret is configured
        authorize(request(good, body), Settings(api_key="k"))


def test_key_comparison_is_constant_time(monkeypatch):
    import duck.auth

    calls = []

    def spy(a, b):
        calls.append((a, b))
        return a == b

    monkeypatch.setattr(duck.auth.hmac, "compare_digest", spy)
    authorize(request({"Authorization": "Bearer secret-key"}), SETTINGS, "app-1")
    assert calls == [(b"secret-key", b"secret-key")]
