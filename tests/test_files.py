"""Files: uploads through Duck, file-typed inputs, and the Service API's `files` field."""

import json
import shutil
import subprocess
import time

import httpx
import pytest

from devkit.harness import Runtime
from duck import files
from endpoint_kit import EndpointError

REMOTE = {"type": "document", "transfer_method": "remote_url", "url": "https://example.com/report.pdf"}


class FakeApps:
    def __init__(self, form):
        self.form = form

    def fetch_app(self, app_id):
        return {"user_input_form": self.form}


class FakeSession:
    def __init__(self, *form):
        self.app = FakeApps(list(form))


FILE = {"file": {"type": "file", "variable": "doc"}}
FILES = {"file-list": {"type": "file-list", "variable": "docs"}}
TEXT = {"text-input": {"type": "text-input", "variable": "name"}}


def test_plain_inputs_need_no_form_lookup():
    class Exploding:
        @property
        def app(self):
            raise AssertionError("fetched the form for nothing")

    assert files.prepare_inputs(Exploding(), "a", {"name": "x", "n": 1}, None) == {"name": "x", "n": 1}


def test_files_map_onto_the_one_file_input():
    assert files.prepare_inputs(FakeSession(TEXT, FILE), "a", {}, [REMOTE]) == {"doc": REMOTE}
    assert files.prepare_inputs(FakeSession(FILES), "a", {}, [REMOTE, REMOTE]) == {"docs": [REMOTE, REMOTE]}


@pytest.mark.parametrize(
    "form, inputs, given, message",
    [
        ([TEXT], {}, [REMOTE], "This app has 0 file inputs, so files cannot be mapped"),
        ([FILE, FILES], {}, [REMOTE], "This app has 2 file inputs"),
        ([FILE], {"doc": REMOTE}, [REMOTE], "Give the file either in files or in inputs.doc, not both."),
        ([FILE], {}, [REMOTE, REMOTE], "inputs.doc takes one file; 2 were given."),
        ([FILE], {"doc": ["https://x"]}, None, "inputs.doc must be a file object"),
        ([FILES], {"docs": REMOTE}, None, "inputs.docs must be a list of file objects"),
        (
            [FILE],
            {"doc": {**REMOTE, "url": None}},
            None,
            "inputs.doc: Value error, transfer_method remote_url needs url.",
        ),
        ([FILE], {"doc": {**REMOTE, "url": "file:///etc/passwd"}}, None, "url must be an http(s) URL"),
        ([FILE], {"doc": {**REMOTE, "type": "spreadsheet"}}, None, "inputs.doc.type: Input should be"),
        ([FILE], {"doc": {**REMOTE, "transfer_method": "carrier_pigeon"}}, None, "inputs.doc.transfer_method"),
        (
            [FILES],
            {"docs": [REMOTE, {"type": "image", "transfer_method": "local_file"}]},
            None,
            "transfer_method local_file needs upload_file_id",
        ),
    ],
)
def test_malformed_file_values_name_the_variable(form, inputs, given, message):
    with pytest.raises(EndpointError) as e:
        files.prepare_inputs(FakeSession(*form), "a", inputs, given)
    assert e.value.status == 400 and message in e.value.message


def test_remote_url_input_through_the_dispatch_path(call):
    reply = call(
        "POST",
        "/apps/demo-workflow/workflows/run",
        {"inputs": {"text": "read", "attachment": REMOTE}, "response_mode": "blocking"},
    )
    assert json.loads(reply.body)["data"]["outputs"]["text"] == "Echo: read [file https://example.com/report.pdf]"
    bad = call("POST", "/apps/demo-workflow/workflows/run", {"inputs": {"text": "x", "attachment": {"url": "u"}}})
    assert bad.status == 400 and json.loads(bad.body)["message"].startswith("inputs.attachment.type")
    # A plain string needs no form lookup: Dify itself refuses it, naming the variable.
    text = call("POST", "/apps/demo-workflow/workflows/run", {"inputs": {"text": "x", "attachment": "https://x"}})
    assert text.status == 400 and json.loads(text.body)["message"] == "attachment in input form must be a file"


def test_service_api_files_field(call):
    mapped = call(
        "POST", "/apps/demo-chat/chat-messages", {"query": "see", "files": [REMOTE], "response_mode": "blocking"}
    )
    assert json.loads(mapped.body)["answer"].endswith("[file https://example.com/report.pdf]")
    refused = call("POST", "/apps/demo-completion/completion-messages", {"inputs": {"text": "t"}, "files": [REMOTE]})
    assert (
        refused.status == 400
        and "give the file as the value of the app's file input" in json.loads(refused.body)["message"]
    )


def upload(runtime, content=b"hello file", name="notes.txt", mimetype="text/plain"):
    return httpx.post(
        runtime.base_url + "/apps/demo-workflow/files/upload",
        headers=runtime.headers,
        files={"file": (name, content, mimetype)},
        timeout=30,
    )


def test_upload_then_run_with_it(runtime):
    uploaded = upload(runtime)
    assert uploaded.status_code == 201
    record = uploaded.json()
    assert (record["name"], record["size"], record["extension"], record["mime_type"]) == (
        "notes.txt",
        10,
        "txt",
        "text/plain",
    )
    assert record["value"] == {"tool_file_id": record["id"], "transfer_method": "tool_file", "type": "document"}
    run = httpx.post(
        runtime.base_url + "/apps/demo-workflow/workflows/run",
        headers=runtime.headers,
        json={"inputs": {"text": "use it", "attachment": record["value"]}, "response_mode": "blocking"},
    )
    assert run.status_code == 200
    assert run.json()["data"]["outputs"]["text"].startswith("Echo: use it [file notes.txt (10 bytes, sha256 ")


def test_upload_with_curl(runtime, tmp_path):
    if not shutil.which("curl"):
        pytest.skip("curl is not installed")
    path = tmp_path / "photo.png"
    path.write_bytes(b"\x89PNG fake")
    result = subprocess.run(
        [
            "curl",
            "-s",
            "-X",
            "POST",
            runtime.base_url + "/apps/demo-chat/files/upload",
            "-H",
            f"Authorization: Bearer {runtime.api_key}",
            "-F",
            f"file=@{path};type=image/png",
            "-F",
            "user=ana",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    record = json.loads(result.stdout)
    assert record["value"]["type"] == "image" and record["size"] == 9
    # The Service API's upload answer names who uploaded and when.
    assert record["created_by"] == "ana" and abs(record["created_at"] - time.time()) < 600


def test_upload_refusals(runtime):
    not_multipart = httpx.post(
        runtime.base_url + "/apps/demo-chat/files/upload", headers=runtime.headers, json={"file": "x"}
    )
    assert not_multipart.status_code == 415 and not_multipart.json()["code"] == "unsupported_media_type"
    no_part = httpx.post(
        runtime.base_url + "/apps/demo-chat/files/upload",
        headers=runtime.headers,
        files={"other": ("a.txt", b"x", "text/plain")},
    )
    assert no_part.status_code == 400 and no_part.json()["code"] == "no_file_uploaded"
    unauthorized = httpx.post(runtime.base_url + "/apps/demo-chat/files/upload", files={"file": ("a", b"x")})
    assert unauthorized.status_code == 401


def test_upload_over_the_limit():
    running = Runtime("max_upload_bytes=1000")
    try:
        small = upload(running, b"x" * 1000)
        assert small.status_code == 201
        over = upload(running, b"x" * 1001)
        assert over.status_code == 413 and over.json()["code"] == "file_too_large"
        far_over = upload(running, b"x" * 200_000)  # refused by Content-Length before it is read
        assert far_over.status_code == 413 and far_over.json()["code"] == "request_entity_too_large"
    finally:
        running.stop()
