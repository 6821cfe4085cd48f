"""Hostile callers through the real dispatch path: forged signatures, odd bodies, arbitrary JSON anywhere."""

import json
import time
from urllib.parse import quote, unquote, urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from duck import openapi, routes
from duck.auth import sign
from tests.test_auth import signed


def test_replay_on_another_route_is_refused_through_the_dispatch(call):
    settings = {"api_key": "unused-key-123", "signing_secret": "hook-secret"}
    body = json.dumps({"inputs": {"text": "lead"}, "response_mode": "blocking"}).encode()
    headers = {
        "Authorization": "",
        **signed(path="/apps/demo-workflow/workflows/run", body=body),
        "Content-Type": "application/json",
    }
    headers.pop("Authorization")
    ok = call("POST", "/apps/demo-workflow/workflows/run", body=body, headers=headers, settings=settings, auth=False)
    assert ok.status == 200
    for path in ("/apps/demo-workflow/run", "/apps/demo-chat/workflows/run", "/apps/demo-workflow/workflows/run?x=1"):
        replay = call("POST", path, body=body, headers=headers, settings=settings, auth=False)
        assert replay.status == 401, path


@pytest.mark.parametrize("timestamp", ["\u00b2", "\u0663", "1e3", "-5", " ", "9" * 40, "0x10", "1.5", "\u00b9\u00b2"])
def test_malformed_timestamps_are_401_never_500(call, timestamp):
    settings = {"api_key": "unused-key-123", "signing_secret": "hook-secret"}
    headers = {"X-Duck-Timestamp": timestamp, "X-Duck-Signature": "v2=" + "0" * 64}
    reply = call(
        "POST", "/apps/demo-chat/chat-messages", {"query": "x"}, headers=headers, settings=settings, auth=False
    )
    assert reply.status == 401 and json.loads(reply.body)["code"] == "unauthorized"


def test_the_daemons_empty_chunked_body_is_an_empty_body_on_every_route(call):
    """Go's Request.Write sends an empty POST/PUT body as chunked `0\\r\\n\\r\\n`; the SDK passes it on."""
    for path in (
        "/apps/demo-chat/chat-messages",
        "/apps/demo-workflow/workflows/run",
        "/apps/demo-completion/completion-messages",
        "/apps/demo-workflow/run",
        "/v1/chat/completions",
    ):
        reply = call("POST", path, body=b"0\r\n\r\n", chunked=True, headers={"Content-Type": "application/json"})
        assert reply.status == 400, path
        body = json.loads(reply.body)
        assert "empty" in (body.get("message") or body.get("error", {}).get("message")), path
    upload = call("POST", "/apps/demo-chat/files/upload", body=b"0\r\n\r\n", chunked=True)
    assert upload.status in (400, 415) and upload.headers["Content-Type"] == "application/json"
    assert call("PUT", "/apps/demo-chat/chat-messages", body=b"0\r\n\r\n", chunked=True).status == 405


def test_an_empty_chunked_body_signed_as_empty_is_accepted(call):
    now = str(int(time.time()))
    headers = {
        "X-Duck-Timestamp": now,
        "X-Duck-Signature": sign("s", now, b"", "POST", "/apps/demo-workflow/workflows/run"),
    }
    reply = call(
        "POST",
        "/apps/demo-workflow/workflows/run",
        body=b"0\r\n\r\n",
        chunked=True,
        headers=headers,
        settings={"api_key": "other-key-123", "signing_secret": "s"},
        auth=False,
    )
    assert reply.status == 400 and "empty" in json.loads(reply.body)["message"]  # authenticated, then refused


# --- Arbitrary JSON in every position of every declared route -------------------------------------------
# The routes come from the YAML declarations and their bodies' field names from /openapi.json, so a route
# added by anyone is covered without editing this file.

DEMO_APPS = ["demo-chat", "demo-agent", "demo-chatflow", "demo-workflow", "demo-completion"]
DOCUMENT = openapi.document()
# Every field name any request schema knows, at any depth, so nested positions get meaningful keys too.
FIELDS = sorted(
    {name for schema in DOCUMENT["components"]["schemas"].values() for name in (schema.get("properties") or {})}
    | {"role", "content", "type", "text"}
)
NASTY_TEXT = ["", "\x00", "a\x00b", "\ud800", "x\udfffy", "\ufeff", "../..", "%00", "9" * 40, " ", "\u202e"]
texts = st.sampled_from(NASTY_TEXT + DEMO_APPS) | st.text(max_size=20)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | st.floats() | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(FIELDS) | texts, inner, max_size=4),
    max_leaves=12,
)


def declared_operations() -> list[tuple[str, str]]:
    return sorted(
        (rule.rule, method)
        for rule in routes.declared_routes().iter_rules()
        for method in rule.methods
        if method not in ("HEAD", "OPTIONS")
    )


def operation_strategy(rule: str, method: str):
    """(path, query, body bytes) for one declared operation, anything in every position."""
    spec = DOCUMENT["paths"][rule.replace("<", "{").replace(">", "}")][method.lower()]
    arguments = [part[1:-1].split(":")[-1] for part in rule.split("/") if part.startswith("<")]
    path_values = st.fixed_dictionaries({name: st.sampled_from(DEMO_APPS) | texts for name in arguments})
    query_names = [p["name"] for p in spec.get("parameters", []) if p["in"] == "query"] + ["x"]
    query = st.dictionaries(st.sampled_from(query_names), texts, max_size=3)
    content = (spec.get("requestBody") or {}).get("content", {})
    ref = content.get("application/json", {}).get("schema", {}).get("$ref", "")
    known = list((DOCUMENT["components"]["schemas"].get(ref.rsplit("/", 1)[-1]) or {}).get("properties") or {})
    body = st.fixed_dictionaries({}, optional={name: json_values for name in known or FIELDS}) | json_values

    def build(values, pairs, data):
        path = rule
        for name in arguments:
            path = path.replace(f"<{name}>", quote(_utf8(values[name]), safe="") or "x")
        raw = json.dumps(data).encode() if method in ("POST", "PUT") else b""  # ASCII: surrogates as \\ud800
        return path + ("?" + urlencode({_utf8(k): _utf8(v) for k, v in pairs.items()}) if pairs else ""), raw

    return st.builds(build, path_values, query, body)


ALLOWED_5XX = {(501, "completion_apps_unsupported"), (501, "not_supported")}


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")  # a lone surrogate becomes the bytes a caller could send


def _header_safe(target: str) -> bool:
    """Whether the decoded path can sit in a header the SDK parses (printable UTF-8)."""
    try:
        return unquote(target.partition("?")[0], errors="strict").isprintable()
    except UnicodeDecodeError:
        return False


def assert_no_5xx(status: int, content_type: str, body: bytes, where: str) -> None:
    if status >= 400 or content_type.startswith("application/json"):
        assert content_type.startswith("application/json"), (where, status, body[:200])
        answer = json.loads(body)
        error = answer.get("error") if isinstance(answer.get("error"), dict) else answer
        if status >= 400:
            assert error.get("code") and error.get("message"), (where, body[:200])
        code = error.get("code")
    else:
        code = None
    # The documented 501s: a Completion app (Dify cannot run them for plugins), and the Service API routes
    # a plugin cannot serve at all (`not_supported`, whatever the input).
    assert status < 500 or (status, code) in ALLOWED_5XX, (where, status, body[:300])


@pytest.mark.parametrize("rule, method", declared_operations())
def test_no_input_gives_a_5xx_through_the_dispatch(call, rule, method):
    @given(operation_strategy(rule, method))
    @settings(max_examples=25, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
    def check(request):
        target, body = request
        reply = call(method, target, body=body, headers={"Content-Type": "application/json"})
        assert_no_5xx(
            reply.status, reply.headers.get("Content-Type", ""), reply.body, f"{method} {target} {body[:120]!r}"
        )

    check()


@pytest.fixture(scope="module")
def runtime():
    """The local runtime with a generous invocation timeout: a busy machine must not look like a 504."""
    from devkit.harness import Runtime

    running = Runtime(env={"ENDPOINT_KIT_KEEPALIVE_SECONDS": "0.5", "MAX_INVOCATION_TIMEOUT": "60"})
    yield running
    running.stop()


@pytest.mark.parametrize(
    "body",
    [
        b'{"query": "hi", "inputs": {"name": "\\ud800"}}',
        b'{"query": "hi", "inputs": {"\\udc00": 1}}',
        b'{"query": "hi", "inputs": {"name": ["a\\u0000"]}}',
        b'{"query": "hi", "inputs": {"n": 18446744073709551617}}',
    ],
)
def test_values_the_sdk_or_dify_cannot_carry_are_400_through_the_runtime(runtime, body):
    """Lone surrogates cannot be written to the daemon as UTF-8 (a 500 before this was refused)."""
    response = httpx.post(
        runtime.base_url + "/apps/demo-chat/chat-messages",
        content=body,
        timeout=30,
        headers={**runtime.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 400 and response.json()["code"] == "invalid_param"


def test_no_input_gives_a_5xx_through_the_runtime(runtime):
    """Fewer examples, through the real stdio protocol: it also serializes what the SDK forwards."""
    with httpx.Client(base_url=runtime.base_url, headers=runtime.headers, timeout=30) as client:
        for rule, method in declared_operations():
            _fuzz_operation(client, rule, method)


def _fuzz_operation(client: httpx.Client, rule, method: str) -> None:
    @given(operation_strategy(rule, method))
    @settings(max_examples=8, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
    def check(request):
        target, body = request
        if not _header_safe(target):
            return  # the daemon copies the decoded path into Dify-Hook-Url; see the test below
        response = client.request(method, target, content=body, headers={"Content-Type": "application/json"})
        content_type = response.headers.get("content-type", "")
        assert_no_5xx(response.status_code, content_type, response.content, f"{method} {target} {body[:120]!r}")

    check()


def test_a_path_the_sdk_cannot_parse_gets_the_daemons_500_not_ducks(runtime):
    """A known limit: the daemon writes the decoded path into Dify-Hook-Url (`copyRequest`), so a control
    character in the path makes a header the SDK's parser refuses before any plugin code runs."""
    for path in ("/apps/%00/chat-messages", "/apps/%ED%A0%80/chat-messages"):
        response = httpx.post(
            runtime.base_url + path,
            content=b"{}",
            timeout=30,
            headers={**runtime.headers, "Content-Type": "application/json"},
        )
        assert response.status_code == 500 and "deserialize_request" in response.text


def test_uploads_with_too_many_parts_or_a_large_text_field_are_4xx(call):
    boundary = "x" * 20

    def multipart(parts):
        chunks = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n' for name, value in parts
        ]
        return ("".join(chunks) + f"--{boundary}--\r\n").encode()

    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    for parts in ([(f"f{i}", "v") for i in range(1200)], [("note", "n" * 600_000)]):
        reply = call(
            "POST",
            "/apps/demo-chat/files/upload",
            body=multipart(parts),
            headers=headers,
            settings={"api_key": "test-key-0123456789", "max_upload_bytes": "2000000"},
        )
        assert 400 <= reply.status < 500 and json.loads(reply.body)["code"], reply.body[:200]


@pytest.mark.parametrize(
    "content",
    [
        '""',
        "null",
        "[]",
        '[{"type": "text", "text": null}]',
        '"a\\u0000b"',
        '[{"type": "text", "text": "a\\u0000b"}]',
        '"\\ud800"',
        '{"a": 1}',
        '[{"type": "image_url", "image_url": {"url": "https://x.example/y.png"}}]',
    ],
)
@pytest.mark.parametrize("route", ["/v1/chat/completions", "/v1/responses"])
def test_openai_messages_without_usable_text_are_400(call, content, route):
    message = f'{{"role": "user", "content": {content}}}'
    body = (
        f'{{"model": "demo-chat", "messages": [{message}]}}'
        if route.endswith("completions")
        else f'{{"model": "demo-chat", "input": [{message}]}}'
    )
    reply = call("POST", route, body=body.encode(), headers={"Content-Type": "application/json"})
    assert reply.status == 400 and json.loads(reply.body)["error"]["code"], reply.body


@pytest.mark.parametrize(
    "metadata",
    [
        '{"conversation_id": "abc"}',
        '{"a": 1}',
        "[]",
        '"x"',
        '{"conversation_id": null}',
        '{"conversation_id": "\\ud800"}',
    ],
)
def test_bad_openai_metadata_is_400(call, metadata):
    body = f'{{"model": "demo-chat", "messages": [{{"role": "user", "content": "hi"}}], "metadata": {metadata}}}'
    reply = call("POST", "/v1/chat/completions", body=body.encode(), headers={"Content-Type": "application/json"})
    assert reply.status == 400, reply.body
