"""The handler wrapper: settings, limits, auth, errors as JSON, CORS, request ids and one log line."""

import logging
from types import SimpleNamespace

import pytest
from dify_plugin.core.utils.http_parser import deserialize_request
from werkzeug import Response
from werkzeug.exceptions import BadRequest

from endpoint_kit import (
    MAX_CHUNK_BYTES,
    EndpointError,
    Settings,
    endpoint,
    form_body,
    json_body,
    json_response,
    key_auth,
    no_auth,
    runtime,
)

KEY = {"api_key": "k"}


def request(method="POST", body=b"", headers=None, content_type="application/json"):
    head = [f"{method} /x HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}"]
    head += [f"Content-Type: {content_type}"] if content_type else []
    head += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return deserialize_request(("\r\n".join(head) + "\r\n\r\n").encode() + body)


class Route:
    """A handler as the SDK calls it: `_invoke(self, request, values, settings_mapping)`."""

    session = SimpleNamespace(install_method=SimpleNamespace(value="serverless"))

    @endpoint(auth=key_auth())
    def _invoke(self, r, values, settings: Settings):
        if values.get("fail") == "error":
            raise EndpointError(409, "conflict", "Taken.", {"Retry-After": "1"})
        if values.get("fail") == "werkzeug":
            raise BadRequest("Malformed form.")
        if values.get("fail") == "crash":
            raise RuntimeError("secret detail")
        if values.get("fail") == "server":
            raise EndpointError(502, "bad_gateway", "Upstream failed.")
        return json_response({"body": json_body(r), "runtime": settings.runtime, "mode": settings.text("mode")})


def call(r, settings=None, values=None, route=None):
    response = (route or Route())._invoke(r, values or {}, KEY if settings is None else settings)
    return response.status_code, response.get_json(), response.headers


AUTH = {"X-API-Key": "k"}


def test_the_handler_gets_typed_settings_and_its_answer_gets_a_request_id():
    status, body, headers = call(request(body=b"[1]", headers=AUTH), {**KEY, "mode": " fast "})
    assert (status, body) == (200, {"body": [1], "runtime": "serverless", "mode": "fast"})
    assert headers["x-request-id"].startswith("req_") and len(headers["x-request-id"]) == 36
    assert "x-should-retry" not in headers and "Access-Control-Allow-Origin" not in headers


def test_auth_runs_before_the_handler():
    assert call(request(body=b"[1]"))[:2] == (
        401,
        {
            "code": "unauthorized",
            "message": "Authorization header must be provided and start with 'Bearer'.",
            "status": 401,
        },
    )
    assert call(request(body=b"[1]", headers=AUTH), settings={})[1]["code"] == "not_configured"


def test_a_body_over_the_limit_is_413_before_anything_reads_it():
    status, body, _ = call(request(body=b"x" * 101, headers=AUTH), {**KEY, "max_body_bytes": "100"})
    assert (status, body["code"]) == (413, "request_entity_too_large")
    assert call(request(body=b"[" + b"1," * 40 + b"1]", headers=AUTH), {**KEY, "max_body_bytes": "100"})[0] == 200


def test_a_fixed_or_computed_limit():
    class Small:
        session = None

        @endpoint(auth=no_auth(), max_body_bytes=10)
        def _invoke(self, r, values, settings):
            return Response(status=204)

    class PerSetting:
        session = None

        @endpoint(auth=no_auth(), max_body_bytes=lambda s: s.number("cap", 5))
        def _invoke(self, r, values, settings):
            return Response(status=204)

    assert call(request(body=b"x" * 11), route=Small())[0] == 413
    assert call(request(body=b"x" * 6), route=PerSetting())[0] == 413
    assert call(request(body=b"x" * 6), {"cap": 6}, route=PerSetting())[0] == 204


def test_errors_become_json_with_their_headers():
    status, body, headers = call(request(body=b"[]", headers=AUTH), values={"fail": "error"})
    assert (status, body, headers["Retry-After"]) == (
        409,
        {"code": "conflict", "message": "Taken.", "status": 409},
        "1",
    )
    status, body, _ = call(request(body=b"[]", headers=AUTH), values={"fail": "werkzeug"})
    assert (status, body["code"], body["message"]) == (400, "bad_request", "Malformed form.")


def test_a_crash_is_a_json_500_logged_once_and_never_retried(caplog):
    with caplog.at_level(logging.INFO, logger="endpoint_kit"):
        status, body, headers = call(request(body=b"[]", headers=AUTH), values={"fail": "crash"})
    assert (status, body["code"]) == (500, "internal_server_error") and "secret detail" not in str(body)
    assert headers["x-should-retry"] == "false"
    assert [r.levelname for r in caplog.records] == ["ERROR", "INFO"]  # the traceback, then the request line
    line = caplog.records[-1].getMessage()
    assert line.startswith("POST /x 500 ") and line.endswith(headers["x-request-id"])
    assert call(request(body=b"[]", headers=AUTH), values={"fail": "server"})[2]["x-should-retry"] == "false"


def test_one_log_line_per_request_without_secrets(caplog):
    with caplog.at_level(logging.INFO, logger="endpoint_kit"):
        call(request(body=b"[1]", headers={"Authorization": "Bearer k"}))
    assert len(caplog.records) == 1 and "Bearer" not in caplog.text and " k " not in caplog.text


def test_cors_headers_when_the_plugin_has_the_setting():
    settings = {**KEY, "cors_allowed_origins": "https://a.x"}
    headers = call(request(body=b"[1]", headers={**AUTH, "Origin": "https://a.x"}), settings)[2]
    assert headers["Access-Control-Allow-Origin"] == "https://a.x" and headers["Vary"] == "Origin"
    # Errors carry them too, so that a page can read why it was refused.
    assert call(request(body=b"[1]", headers={"Origin": "https://a.x"}), settings)[2]["Access-Control-Allow-Origin"]


def test_big_bodies_leave_in_pieces_the_daemon_accepts():
    class Big:
        session = None

        @endpoint(auth=no_auth())
        def _invoke(self, r, values, settings):
            return Response(b"x" * (MAX_CHUNK_BYTES + 1))

    response = Big()._invoke(request("GET"), {}, {})
    assert [len(piece) for piece in response.response] == [MAX_CHUNK_BYTES, 1]


def test_a_form_route():
    class Form:
        session = None

        @endpoint(auth=no_auth(), max_body_bytes=1000)
        def _invoke(self, r, values, settings):
            return json_response(dict(form_body(r)))

    r = request(body=b"a=1&b=2", content_type="application/x-www-form-urlencoded")
    assert call(r, route=Form())[:2] == (200, {"a": "1", "b": "2"})


def test_runtime_as_the_sdk_was_told():
    assert runtime(None) == "local"
    assert runtime(SimpleNamespace(install_method="remote")) == "remote"
    assert runtime(SimpleNamespace(install_method=SimpleNamespace(value="serverless"))) == "serverless"


def test_a_policy_factory_passed_uncalled_fails_when_the_plugin_loads():
    with pytest.raises(TypeError, match=r"such as key_auth\(\) or no_auth\(\)"):
        endpoint(auth=no_auth)  # type: ignore[arg-type]
