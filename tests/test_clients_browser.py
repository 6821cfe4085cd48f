"""The `openai` npm package in headless Chromium, from a page on another origin: CORS as browsers enforce it."""

import functools
import http.server
import json
import shutil
import tempfile
import threading

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.wait import WebDriverWait

from devkit.harness import Runtime
from tests.conftest import ROOT

JS = ROOT / "tests" / "js"
pytestmark = pytest.mark.skipif(
    not (JS / "node_modules").is_dir(), reason="run `make setup` to install the Node clients"
)


class _Files(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, ".mjs": "text/javascript"}

    def log_message(self, *args):  # keep the test output quiet
        pass


@pytest.fixture(scope="module")
def page_server():
    """tests/js served on its own loopback origin, so every call to Duck is cross-origin."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Files, directory=str(JS)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="module")
def chromium():
    binary, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    assert binary and driver_path, "install Debian's chromium and chromium-driver: make setup"
    with tempfile.TemporaryDirectory(prefix="duck-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = binary
        for flag in [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-sync",
            "--disable-background-networking",
            "--disable-component-update",
            f"--user-data-dir={profile}",
        ]:
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        driver = webdriver.Chrome(options=options, service=Service(driver_path))
        yield driver
        driver.quit()


def run_page(chromium, page_origin, duck):
    chromium.get(f"{page_origin}/browser.html?base={duck.base_url}/v1&key={duck.api_key}")
    results = WebDriverWait(chromium, 60, poll_frequency=0.1).until(
        lambda driver: driver.execute_script("return window.duckResults")
    )
    return results, [entry["message"] for entry in chromium.get_log("browser") if entry["level"] == "SEVERE"]


def test_the_openai_package_works_from_an_allowed_origin(chromium, page_server):
    duck = Runtime(f"cors_allowed_origins={page_server}")
    try:
        results, errors = run_page(chromium, page_server, duck)
    finally:
        duck.stop()
    assert results["chat"]["text"] == "Hi there! You said: Browser (turn 1)", (results, errors)
    assert results["chat"]["requestId"].startswith("req_")  # exposed to the page
    assert results["responses_stream"] == {
        "text": "Hi there! You said: Streamed (turn 1)",
        "first": "response.created",
        "last": "response.completed",
    }
    assert "demo-chat" in results["models"]
    assert results["not_found"]["status"] == 404  # the page reads Duck's JSON 404, not a network error


def test_another_origin_is_refused_by_the_browser(chromium, page_server):
    duck = Runtime("cors_allowed_origins=https://elsewhere.example")
    try:
        results, _ = run_page(chromium, page_server, duck)
    finally:
        duck.stop()
    assert "Connection error" in results["chat"]["error"] and results["chat"]["status"] is None, json.dumps(results)
