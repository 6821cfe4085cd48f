"""The OpenAPI document: valid, equal to the declared routes, and true of the running endpoint."""

import hashlib
import json

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import validate
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from duck import openapi, routes


def not_a_server_error_but_completion_apps(ctx, response, case):
    """schemathesis' not_a_server_error, except the documented 501s: a Completion app (Dify cannot run them
    for plugins, so naming one is the one input that selects a 5xx), and the Service API routes a plugin
    cannot serve (501 is their only answer once the key is right)."""
    if response.status_code == 501 and response.json().get("code") in ("completion_apps_unsupported", "not_supported"):
        return True
    return not_a_server_error(ctx, response, case)


def _header_safe(value: str) -> bool:
    """Whether a path part can sit in the Dify-Hook-Url header the daemon builds (printable UTF-8)."""
    return value.isprintable() and not any("\ud800" <= c <= "\udfff" for c in value)


DEMO_APPS = ["demo-chat", "demo-agent", "demo-chatflow", "demo-workflow", "demo-completion"]


def test_document_is_valid_openapi_3_1():
    document = openapi.document("http://127.0.0.1/e/x")
    validate(document)
    assert document["openapi"] == "3.1.0" and document["info"]["title"] == "duck"


def test_document_describes_exactly_the_declared_routes():
    declared = {
        (rule.rule.replace("<", "{").replace(">", "}"), method.lower())
        for rule in routes.declared_routes().iter_rules()
        for method in rule.methods
        if method != "HEAD"
    }
    documented = {(path, method) for path, operations in openapi.document()["paths"].items() for method in operations}
    assert documented == declared


def test_request_schemas_are_the_handlers_models():
    schemas = openapi.document()["components"]["schemas"]
    assert schemas["ChatRequest"]["required"] == ["query"]
    assert "streaming" in str(schemas["ChatRequest"]["properties"]["response_mode"])


def test_served_document_points_at_the_endpoint(runtime):
    served = httpx.get(runtime.base_url + "/openapi.json").json()
    assert served["servers"] == [{"url": runtime.base_url}]
    validate(served)


@pytest.mark.parametrize("runtime", ["local"], indirect=True)  # the heaviest test: one runtime is enough
def test_no_5xx_and_no_response_contradicts_the_document(runtime):
    """A bounded schemathesis run (25 generated requests per operation) against the local runtime."""
    operations = [
        result.ok() for result in schemathesis.openapi.from_url(runtime.base_url + "/openapi.json").get_all_operations()
    ]
    # schemathesis leaves out the operation that serves the document itself.
    expected = {f"{method.upper()} {path}" for path, method, *_ in openapi.ROUTES} - {"GET /openapi.json"}
    assert {operation.label for operation in operations} == expected
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def check(case):
            if "app_id" in (case.path_parameters or {}):
                # Real demo apps for most cases, so that generated bodies reach an app instead of a 404.
                digest = hashlib.sha256(repr(case.body).encode()).digest()[0]
                if digest % 5:
                    case.path_parameters["app_id"] = DEMO_APPS[digest % len(DEMO_APPS)]
            if not all(_header_safe(str(value)) for value in (case.path_parameters or {}).values()):
                return  # the daemon's own 500 before Duck runs (README, Errors); tests/test_hostile_callers.py
            response = case.call(headers=runtime.headers, timeout=30)
            case.validate_response(
                response,
                checks=[
                    not_a_server_error_but_completion_apps,
                    status_code_conformance,
                    content_type_conformance,
                    response_schema_conformance,
                ],
            )

        check()


def test_served_without_key_or_settings_and_cacheable(call):
    reply = call("GET", "/openapi.json", auth=False, settings={})
    assert reply.status == 200 and reply.headers["Cache-Control"] == "public, max-age=300"
    etag = reply.headers["ETag"]
    again = call("GET", "/openapi.json", auth=False, settings={}, headers={"If-None-Match": etag})
    assert again.status == 304 and again.body == b""
    assert call("GET", "/openapi.json", auth=False, headers={"If-None-Match": '"other"'}).status == 200


def servers(call, headers):
    return json.loads(call("GET", "/openapi.json", auth=False, headers=headers).body)["servers"]


def test_servers_url_comes_from_the_daemons_hook_url_only(call):
    hook = {"Dify-Hook-Url": "https://127.0.0.1/e/abc/openapi.json"}  # the call fixture's Host is 127.0.0.1
    assert servers(call, hook) == [{"url": "https://127.0.0.1/e/abc"}]
    assert servers(call, {"Dify-Hook-Url": "https://127.0.0.1/e/abc/openapi.json?x=1"}) == [
        {"url": "https://127.0.0.1/e/abc"}
    ]
    for steering in (
        {"X-Forwarded-Host": "evil.example"},
        {"Forwarded": "host=evil.example"},
        {"X-Original-Host": "evil.example"},
        {"X-Forwarded-Proto": "http"},
    ):
        assert servers(call, {**hook, **steering}) == [{"url": "https://127.0.0.1/e/abc"}]
    for forged in (
        "https://evil.example/e/abc/openapi.json",  # another host than the request's
        "https://127.0.0.1/e/abc/other",
        "javascript:alert(1)//127.0.0.1/openapi.json",
        "",
        "not a url",
    ):
        assert servers(call, {"Dify-Hook-Url": forged}) == [{"url": "."}]  # relative to the document
