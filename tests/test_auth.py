import time

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from duck.auth import allowed_app, authenticate, sign, sign_body_only
from duck.settings import DuckSettings as Settings
from endpoint_kit import EndpointError

SETTINGS = Settings(api_key="secret-key", signing_secret="hook-secret")


def authorize(request, settings, app_id=None):
    """What the wrapper's policy and then the handler check: the caller, then the app id."""
    authenticate(request, settings)
    return None if app_id is None else allowed_app(settings, app_id)


def request(headers=None, body=b""):
    return Request(EnvironBuilder(method="POST", headers=headers or {}, data=body).get_environ())


@pytest.mark.parametrize(
    "headers",
    [{"Authorization": "Bearer secret-key"}, {"Authorization": "bearer  secret-key "}, {"X-API-Key": "secret-key"}],
)
def test_accepted_key_places(headers):
    assert authorize(request(headers), SETTINGS, "app-1") == "app-1"


@pytest.mark.parametrize(
    "headers, message",
    [
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
    ],
)
def test_refusals_are_401_and_reveal_nothing(headers, message):
    with pytest.raises(EndpointError) as e:
        authorize(request(headers), SETTINGS, "app-1")
    assert (e.value.status, e.value.code, e.value.message) == (401, "unauthorized", message)
    assert e.value.headers["WWW-Authenticate"] == 'Bearer realm="api"'
    assert "secret" not in e.value.message


def test_401_comes_before_any_app_check():
    with pytest.raises(EndpointError) as e:
        authorize(request({"Authorization": "Bearer nope"}), Settings(api_key="k", app_id="a"), "../etc")
    assert e.value.status == 401


def test_app_ids_are_canonical_uuids():
    pinned = Settings(api_key="k", app_id="{0A6B2F3C-1D2E-4F50-8A9B-0C1D2E3F4A5B}")
    assert pinned.app_id == "{0A6B2F3C-1D2E-4F50-8A9B-0C1D2E3F4A5B}"  # Settings built directly: taken as is
    settings = Settings(api_key="k", app_id="0a6b2f3c-1d2e-4f50-8a9b-0c1d2e3f4a5b")
    for spelling in ("0A6B2F3C-1D2E-4F50-8A9B-0C1D2E3F4A5B", "0a6b2f3c1d2e4f508a9b0c1d2e3f4a5b"):
        assert authorize(request({"X-API-Key": "k"}), settings, spelling) == "0a6b2f3c-1d2e-4f50-8a9b-0c1d2e3f4a5b"


@pytest.mark.parametrize(
    "app_id", ["other", "../x", "a" * 65, "a b", "", "é", "{0a6b2f3c-1d2e-4f50-8a9b-0c1d2e3f4a5b}"]
)
def test_app_outside_pin_or_malformed_is_404(app_id):
    with pytest.raises(EndpointError) as e:
        authorize(request({"X-API-Key": "k"}), Settings(api_key="k", app_id="pinned"), app_id)
    assert (e.value.status, e.value.code) == (404, "app_not_found")


def signed(
    method="POST", path="/apps/a/workflows/run", query="", body=b'{"query":"hi"}', secret="hook-secret", timestamp=None
):
    timestamp = timestamp or str(int(time.time()))
    return {"X-Duck-Timestamp": timestamp, "X-Duck-Signature": sign(secret, timestamp, body, method, path, query)}


def signed_request(headers, method="POST", path="/apps/a/workflows/run", query="", body=b'{"query":"hi"}'):
    return Request(
        EnvironBuilder(method=method, path=path, query_string=query, headers=headers, data=body).get_environ()
    )


def test_signature_v2_covers_method_path_query_and_body():
    good = signed(query="b=2&a=1")
    assert authorize(signed_request(good, query="a=1&b=2"), SETTINGS) is None  # the daemon sorts the query
    for changed in (
        {"method": "PUT"},
        {"path": "/apps/b/workflows/run"},
        {"query": "a=1&b=3"},
        {"body": b'{"query":"hj"}'},
    ):
        with pytest.raises(EndpointError) as e:
            authorize(signed_request(good, **{"query": "a=1&b=2", **changed}), SETTINGS)
        assert e.value.status == 401 and e.value.message.startswith("Signature is invalid or older than 5 minutes")
    for bad in (
        signed(secret="other"),
        signed(timestamp=str(int(time.time()) - 301)),
        {**signed(), "X-Duck-Signature": "v2=00"},
    ):
        with pytest.raises(EndpointError):
            authorize(signed_request(bad), SETTINGS)
    with pytest.raises(EndpointError):  # signatures count only when a secret is configured
        authorize(signed_request(good, query="a=1&b=2"), Settings(api_key="k"))


def test_body_only_signatures_need_the_explicit_setting():
    now = str(int(time.time()))
    old = {"X-Duck-Timestamp": now, "X-Duck-Signature": sign_body_only("hook-secret", now, b'{"query":"hi"}')}
    with pytest.raises(EndpointError):
        authorize(signed_request(old), SETTINGS)
    lenient = Settings(api_key="secret-key", signing_secret="hook-secret", accept_body_only_signatures=True)
    assert authorize(signed_request(old), lenient) is None
    assert authorize(signed_request(signed()), lenient) is None


def test_key_comparison_is_constant_time(monkeypatch):
    import duck.auth

    calls = []

    def spy(a, b):
        calls.append((a, b))
        return a == b

    monkeypatch.setattr(duck.auth.hmac, "compare_digest", spy)
    authorize(request({"Authorization": "Bearer secret-key"}), SETTINGS, "app-1")
    assert calls == [(b"secret-key", b"secret-key")]
