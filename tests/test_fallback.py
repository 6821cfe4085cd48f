"""Unknown paths and wrong methods answer JSON everywhere, "/" included."""

import json

import pytest


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE", "HEAD"])
@pytest.mark.parametrize(
    "path", ["/", "/nope", "/apps", "/apps/demo-chat", "/health/", "/%00", "/apps/demo-chat/x/y/z"]
)
def test_unknown_paths_answer_json(call, method, path):
    reply = call(method, path)
    assert reply.status == 404 and reply.headers["Content-Type"] == "application/json"
    if method != "HEAD":
        assert json.loads(reply.body)["code"] == "not_found"


def test_root_without_a_key_is_still_json(call):
    reply = call("GET", "/", auth=False, settings={})
    assert reply.headers["Content-Type"] == "application/json" and reply.status in (404, 503)


def test_options_on_root_without_cors_is_a_json_404(call):
    reply = call("OPTIONS", "/", headers={"Origin": "https://a.example"})
    assert reply.status == 404 and json.loads(reply.body)["code"] == "not_found"
