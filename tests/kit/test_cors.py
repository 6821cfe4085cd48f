"""CORS: which origins get headers, and preflight answers."""

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from endpoint_kit import EndpointError, Settings, allowed_origins, cors_headers, preflight_headers


def request(headers):
    return Request(EnvironBuilder(method="OPTIONS", headers=headers).get_environ())


def test_origins_come_from_a_list_setting_without_trailing_slashes():
    settings = Settings({"cors_allowed_origins": "https://a.x/, https://b.x https://a.x"})
    assert allowed_origins(settings) == ("https://a.x", "https://b.x")
    assert allowed_origins(Settings({"origins": ["*"]}), "origins") == ("*",)


def test_answers_vary_on_origin_only_when_cors_is_on():
    assert cors_headers(request({"Origin": "https://a.x"}), ()) == {}
    assert cors_headers(request({"Origin": "https://evil.x"}), ("https://a.x",)) == {"Vary": "Origin"}
    headers = cors_headers(request({"Origin": "https://a.x/"}), ("https://a.x",))
    assert (
        headers["Access-Control-Allow-Origin"] == "https://a.x/"
        and "x-request-id" in headers["Access-Control-Expose-Headers"]
    )
    assert cors_headers(request({"Origin": "https://any.x"}), ("*",))["Access-Control-Allow-Origin"] == "*"


def test_a_preflight_echoes_well_formed_headers_and_falls_back_to_the_plugins_own():
    asked = {"Origin": "https://a.x", "Access-Control-Request-Method": "post"}
    echoed = preflight_headers(
        request({**asked, "Access-Control-Request-Headers": "x-stainless-os, content-type"}), ("*",), ["POST"]
    )
    assert echoed["Access-Control-Allow-Headers"] == "x-stainless-os, content-type"
    assert echoed["Access-Control-Allow-Methods"] == "OPTIONS, POST"
    fallback = preflight_headers(
        request({**asked, "Access-Control-Request-Headers": "bad header;"}), ("*",), [], "X-Mine"
    )
    assert fallback["Access-Control-Allow-Headers"] == "X-Mine"
    assert fallback["Access-Control-Allow-Methods"] == "OPTIONS, POST"  # unknown path: the asked method


def test_a_preflight_from_another_origin_is_403():
    with pytest.raises(EndpointError) as e:
        preflight_headers(request({"Origin": "https://evil.x"}), ("https://a.x",), ["GET"])
    assert (e.value.status, e.value.code) == (403, "cors_forbidden")
