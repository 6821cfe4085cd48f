"""Uploads as Dify answers them: the SDK's own `session.file.upload` against the dev kit's signed URL."""

import json
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from gevent.pywsgi import WSGIServer

from devkit.demo_apps import DemoApps
from devkit.files import FileStore
from devkit.host import Host
from devkit.storage import Storage
from tests.test_demo_apps import failure, invalid_param, sdk


@pytest.fixture
def store():
    files = FileStore()

    def app(environ, start_response):
        status, body = files.receive(environ)
        data = json.dumps(body).encode()
        start_response(f"{status} X", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]

    server = WSGIServer(("127.0.0.1", 0), app, log=None)
    server.start()
    files.base_url = f"http://127.0.0.1:{server.server_port}"
    yield files
    server.stop()


def test_upload_answers_difys_file_response(store):
    with sdk(Host(DemoApps(files=store), Storage(), files=store)) as session:
        uploaded = session.file.upload("report.pdf", b"%PDF-1.4 demo", "application/pdf")
        unknown = session.file.upload("blob", b"\x00\x01", "application/x-made-up")
        answer = session.app.workflow.invoke(
            "demo-workflow", {"text": "t", "attachment": uploaded.to_app_parameter()}, "blocking"
        )
        as_local = {"type": "document", "transfer_method": "local_file", "upload_file_id": uploaded.id}
        refused = failure(
            lambda: session.app.workflow.invoke("demo-workflow", {"text": "t", "attachment": as_local}, "blocking")
        )
    assert (uploaded.name, uploaded.size, uploaded.extension, uploaded.mime_type) == (
        "report.pdf",
        13,
        ".pdf",
        "application/pdf",
    )
    assert unknown.extension == ".bin"
    assert set(parse_qs(urlsplit(uploaded.preview_url).query)) == {"timestamp", "nonce", "sign"}
    assert answer["data"]["outputs"]["text"].startswith("Echo: t [file report.pdf (13 bytes")
    assert refused == invalid_param("Invalid upload file")


def test_the_signed_url_binds_the_file_and_expires(store):
    url = store.signed_url({"filename": "a.txt", "mimetype": "text/plain"})["url"]
    assert set(parse_qs(urlsplit(url).query)) == {"timestamp", "nonce", "sign", "user_id", "tenant_id"}
    assert requests.post(url, files={"file": ("a.txt", b"x", "text/plain")}, timeout=10).status_code == 201
    for name, mimetype in (("b.txt", "text/plain"), ("a.txt", "text/html")):
        other = requests.post(url, files={"file": (name, b"x", mimetype)}, timeout=10)
        assert other.status_code == 403 and other.json() == {
            "code": "forbidden",
            "message": "Invalid request.",
            "status": 403,
        }
    tampered = url.replace("nonce=", "nonce=0")
    assert requests.post(tampered, files={"file": ("a.txt", b"x", "text/plain")}, timeout=10).status_code == 403
    store.access_timeout = -1  # Dify's FILES_ACCESS_TIMEOUT has passed
    assert requests.post(url, files={"file": ("a.txt", b"x", "text/plain")}, timeout=10).status_code == 403


def test_file_values_are_checked_as_dify_does():
    with sdk() as session:
        bad = {"type": "document", "transfer_method": "tool_file", "tool_file_id": "nope"}
        missing = failure(
            lambda: session.app.workflow.invoke("demo-workflow", {"text": "t", "attachment": bad}, "blocking")
        )
        pigeon = {"type": "document", "transfer_method": "carrier_pigeon"}
        method = failure(
            lambda: session.app.workflow.invoke("demo-workflow", {"text": "t", "attachment": pigeon}, "blocking")
        )
    assert missing == invalid_param("ToolFile nope not found")
    assert method == invalid_param("No matching enum found for value 'carrier_pigeon'")
