"""Property-based: any body or settings gives a typed value or a 4xx/503 EndpointError, never an exception."""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from duck.models import ChatRequest, CompletionRequest, RunRequest, WorkflowRequest, parse_body
from duck.settings import DuckSettings, duck_settings
from endpoint_kit import EndpointError, Settings

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
fields = st.fixed_dictionaries(
    {},
    optional={
        "query": json_values,
        "inputs": json_values,
        "response_mode": st.sampled_from(["streaming", "blocking", "x"]) | json_values,
        "conversation_id": json_values,
        "user": json_values,
        "files": json_values,
    },
)
models = st.sampled_from([ChatRequest, WorkflowRequest, CompletionRequest, RunRequest])
content_types = st.sampled_from(["application/json", "", "text/plain", "application/json; charset=utf-8"])


def parse(data: bytes, model, content_type: str):
    headers = {"Content-Type": content_type} if content_type else {}
    request = Request(EnvironBuilder(method="POST", data=data, headers=headers).get_environ())
    try:
        return parse_body(request, model)
    except EndpointError as e:
        assert 400 <= e.status < 500 and e.code and e.message
        return e


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.binary(max_size=300), models, content_types)
def test_any_bytes(data, model, content_type):
    result = parse(data, model, content_type)
    assert isinstance(result, model | EndpointError)


@settings(max_examples=300, deadline=None)
@given(fields, models)
def test_any_json_object(body, model):
    result = parse(json.dumps(body).encode(), model, "application/json")
    assert isinstance(result, model | EndpointError)
    if isinstance(result, model):
        assert result.response_mode in ("streaming", "blocking") and isinstance(result.inputs, dict)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["api_key", "app", "cors_allowed_origins", "max_body_bytes", "signing_secret", "other"]),
        json_values,
    )
    | json_values
)
def test_any_settings(raw):
    result = duck_settings(Settings(raw))  # never raises: what cannot be read counts as unset
    assert isinstance(result, DuckSettings) and 0 < result.max_body_bytes <= 10 * 1024 * 1024
