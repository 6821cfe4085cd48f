import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from duck.models import ChatRequest, RunRequest, WorkflowRequest, parse_body
from endpoint_kit import EndpointError


def parse(body: bytes, model=ChatRequest, content_type="application/json"):
    headers = {"Content-Type": content_type} if content_type else {}
    return parse_body(Request(EnvironBuilder(method="POST", data=body, headers=headers).get_environ()), model)


def refusal(body, model=ChatRequest, content_type="application/json"):
    with pytest.raises(EndpointError) as e:
        parse(body, model, content_type)
    return e.value.status, e.value.code, e.value.message


def test_defaults():
    body = parse(b'{"query": "hi"}')
    assert (body.query, body.inputs, body.response_mode, body.conversation_id, body.user) == (
        "hi",
        {},
        "streaming",
        None,
        None,
    )


def test_unknown_fields_are_ignored_and_json_types_are_accepted():
    assert parse(b'{"inputs": {"n": 1}, "extra": 1}', WorkflowRequest, "application/vnd.x+json").inputs == {"n": 1}
    assert parse(b'{"query": "q"}', content_type=None).query == "q"
    assert parse(b'{"inputs": {}}', RunRequest).query is None


@pytest.mark.parametrize(
    "body, message",
    [
        (b"", "The request body is empty; send a JSON object."),
        (b"\xff\xfe", "The request body is not valid UTF-8."),
        (b"[1]", "The request body must be a JSON object."),
        (b'"x"', "The request body must be a JSON object."),
        (b'{"query": "a", "query": "b"}', "The request body is not valid JSON: duplicate key 'query'"),
        (b'{"query": NaN}', "The request body is not valid JSON: NaN is not allowed"),
        (b"{}", "query is required."),
        (b'{"query": ""}', "query: String should have at least 1 character."),
        (b'{"query": 1}', "query: Input should be a valid string."),
        (b'{"query": "a\\u0000b"}', "The request body must not contain NUL characters (\\u0000)."),
        (
            b'{"query": "a", "inputs": {"x": ["\\u0000"]}}',
            "The request body must not contain NUL characters (\\u0000).",
        ),
        (
            b'{"query": "a", "inputs": {"\\ud800": 1}}',
            "The request body holds a lone UTF-16 surrogate (an unpaired \\ud800-\\udfff escape).",
        ),
        (
            b'{"query": "a", "user": "\\udfff\\ud800"}',
            "The request body holds a lone UTF-16 surrogate (an unpaired \\ud800-\\udfff escape).",
        ),
        (b'{"query": "a", "inputs": {"n": 18446744073709551616}}', "The request body holds an integer beyond 64 bits."),
        (b'{"query": "a", "inputs": []}', "inputs: Input should be a valid dictionary."),
        (b'{"query": "a", "response_mode": "fast"}', "response_mode: Input should be 'streaming' or 'blocking'."),
        (b'{"query": "a", "user": 5}', "user: Input should be a valid string."),
        (b'{"query": "a", "files": "x"}', "files: Input should be a valid list."),
    ],
)
def test_refusals_name_the_problem(body, message):
    assert refusal(body) == (400, "invalid_param", message)


def test_deep_nesting_is_refused():
    deep = b'{"query": "a", "inputs": {"x": ' + b"[" * 100 + b"]" * 100 + b"}}"
    assert refusal(deep)[2] == "The request body is nested too deeply."
    very_deep = b"[" * 100000 + b"]" * 100000
    assert refusal(very_deep)[2] in (
        "The request body is nested too deeply.",
        "The request body must be a JSON object.",
    )


def test_wrong_content_type_is_415():
    assert refusal(b'{"query": "a"}', content_type="text/plain")[:2] == (415, "unsupported_media_type")
    assert refusal(b"query=a", content_type="application/x-www-form-urlencoded")[:2] == (415, "unsupported_media_type")
