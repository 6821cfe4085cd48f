"""The Node clients users run against Duck: the `openai` package and the AI SDK, through the local runtime.

tests/js/clients.mjs drives them (pinned in tests/js/package-lock.json, installed by `make setup`).
"""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

JS = Path(__file__).resolve().parent / "js"

pytestmark = pytest.mark.skipif(
    not (JS / "node_modules").is_dir() or shutil.which("node") is None,
    reason="run `make setup` to install the Node clients",
)


@pytest.fixture(scope="module")
def results(runtime):
    env = {**os.environ, "DUCK_BASE_URL": runtime.base_url + "/v1", "DUCK_API_KEY": runtime.api_key}
    done = subprocess.run(["node", str(JS / "clients.mjs")], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_openai_package_chat_completions(results):
    assert results["chat"]["text"] == "Hi there! You said: Node (turn 1)"
    assert results["chat"]["usage"] == {"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19}
    assert results["chat"]["requestId"].startswith("req_")
    assert results["chat_stream"]["text"] == "Hi there! You said: Streamed (turn 1)"
    assert results["chat_stream"]["usage"]["total_tokens"] == 19


def test_openai_package_responses_models_and_completions(results):
    assert results["responses"]["first"] == "Hi there! You said: One (turn 1)"
    assert results["responses"]["second"] == "Hi there! You said: Two (turn 2)"  # previous_response_id
    assert results["responses"]["usage"]["input_tokens"] == 12
    assert results["responses_stream"]["deltas"] == results["responses_stream"]["text"] != ""
    assert results["models_retrieve"]["id"] == "demo-chat" and results["models_retrieve"]["created"] > 1_700_000_000
    assert results["completions"]["text"] == "Hi there! You said: Legacy (turn 1)"
    assert results["model_not_found"]["status"] == 404


def test_ai_sdk_default_provider_is_the_responses_api(results):
    assert results["ai_sdk_responses"]["first"] == "Hi there! You said: Hello (turn 1)"
    # The resent history (its assistant turn an item reference) continues the same Dify conversation.
    assert results["ai_sdk_responses"]["second"] == "Hi there! You said: Again (turn 2)"
    assert results["ai_sdk_responses"]["usage"]["inputTokens"] == 12
    assert results["ai_sdk_responses_stream"] == {"text": "Hi there! You said: Stream (turn 1)", "finishReason": "stop"}
    failure = results["ai_sdk_stream_failure"]
    assert failure["finishReason"] == "error" and "failed in the middle" in failure["errors"][0]


def test_ai_sdk_chat_provider_keeps_memory_for_a_resent_history(results):
    assert results["ai_sdk_chat"] == {
        "first": "Hi there! You said: Chat one (turn 1)",
        "second": "Hi there! You said: Chat two (turn 2)",
    }
