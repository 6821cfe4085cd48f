"""The playground in headless Chromium, served by the local runtime under its /e/<hook_id> prefix.

One browser for the module. Screenshots go to test-artifacts/ (gitignored).
"""

import itertools
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.wait import WebDriverWait

from devkit.harness import Runtime
from tests.conftest import ROOT

ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,1000",
]
SERVED_APPS = ["demo-chat", "demo-workflow", "demo-completion"]


@pytest.fixture(scope="module")
def served():
    # Paced tokens, so that a streamed answer visibly grows.
    running = Runtime(
        f"openai_models={','.join(SERVED_APPS)}", delay_ms=80, env={"ENDPOINT_KIT_KEEPALIVE_SECONDS": "0.5"}
    )
    yield running
    running.stop()


@pytest.fixture(scope="module")
def browser():
    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    assert chromium and driver_path, "install Debian's chromium and chromium-driver: make setup"
    ARTIFACTS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="duck-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = chromium
        for flag in [*CHROMIUM_FLAGS, f"--user-data-dir={profile}"]:
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        driver = webdriver.Chrome(options=options, service=Service(driver_path))
        yield driver
        driver.quit()


def wait(browser, condition, timeout=20):
    return WebDriverWait(browser, timeout, poll_frequency=0.05).until(lambda _: condition())


def find(browser, css):
    return browser.find_element(By.CSS_SELECTOR, css)


def console_errors(browser):
    return [entry["message"] for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]


def open_page(browser, served):
    origin = served.base_url.split("/e/")[0]
    browser.execute_cdp_cmd(
        "Browser.grantPermissions", {"origin": origin, "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]}
    )
    browser.get(served.base_url + "/playground")
    browser.execute_script("sessionStorage.clear()")
    browser.get(served.base_url + "/playground")
    wait(browser, lambda: find(browser, "#key").is_displayed())
    browser.get_log("browser")  # drop what earlier tests left in the log


def connect(browser, key):
    field = find(browser, "#key")
    field.clear()
    field.send_keys(key, Keys.ENTER)  # the keyboard path: Enter submits


def open_app(browser, served, app_id):
    connect(browser, served.api_key)
    wait(browser, lambda: "serves" in find(browser, "#apps-hint").text)
    field = find(browser, "#app-id")
    field.clear()
    field.send_keys(app_id, Keys.ENTER)
    wait(browser, lambda: find(browser, "#app").is_displayed() and app_id in find(browser, "#app-title").text)


def last_exchange(browser):
    return browser.find_elements(By.CSS_SELECTOR, "#runs .exchange")[-1]


def finished(browser):
    return find(browser, "#run").is_enabled() and browser.find_elements(By.CSS_SELECTOR, "#runs .exchange")


def snippet(browser, tab):
    return browser.execute_script(f"return document.querySelector('#snippet-{tab} pre').textContent")


def unmask(code, served):
    mask = "••••" + served.api_key[-4:]
    assert mask in code and served.api_key not in code
    return code.replace(mask, served.api_key)


def answer_of(sse_text):
    events = [
        json.loads(line.removeprefix("data: ")) for line in sse_text.splitlines() if line.startswith(("data: ", "{"))
    ]
    return "".join(e.get("answer", "") for e in events if e["event"] in ("message", "agent_message"))


def run_copied_curl(command, served):
    done = subprocess.run(
        ["bash", "-c", unmask(command, served)], capture_output=True, text=True, timeout=30, check=True
    )
    return answer_of(done.stdout)


def run_python_snippet(code, served):
    done = subprocess.run(
        [sys.executable, "-c", unmask(code, served)], capture_output=True, text=True, timeout=30, check=True
    )
    return answer_of(done.stdout)  # the snippet prints each event's JSON on its own line


def run_js_snippet(browser, code, served):
    """The fetch snippet, run in the page as written (console.log collected)."""
    chunks = browser.execute_async_script(
        "const done = arguments[arguments.length - 1], chunks = [];"
        "const console = {log: (chunk) => chunks.push(chunk)};"
        f"(async () => {{ {unmask(code, served)} }})().then(() => done(chunks), (e) => done(['failed: ' + e]));"
    )
    return answer_of("".join(chunks))


def test_page_loads_with_its_script_and_style_and_no_console_errors(browser, served):
    browser.get(served.base_url + "/playground")
    wait(browser, lambda: find(browser, "#key").is_displayed())
    assert browser.execute_script("return getComputedStyle(document.querySelector('main')).display") == "grid"
    assert find(browser, "#key").get_attribute("type") == "password"
    assert find(browser, "#app").is_displayed() is False
    assert console_errors(browser) == []


def test_chat_streams_in_continues_and_the_copied_curl_gives_the_same_answer(browser, served):
    open_page(browser, served)
    open_app(browser, served, "demo-chat")
    assert find(browser, "#runs .opening").text == "Hello! Ask me anything."
    assert Select(find(browser, "#mode")).first_selected_option.get_attribute("value") == "auto"
    find(browser, "#input-0").send_keys("Ana")
    Select(find(browser, "#input-1")).select_by_value("formal")
    query = find(browser, "#query")
    query.send_keys("one two three four five six seven eight")
    query.send_keys(Keys.CONTROL, Keys.ENTER)

    seen = []  # the answer's text, polled while it streams
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        done = finished(browser)  # checked first: the text read after it is final
        answers = browser.find_elements(By.CSS_SELECTOR, "#runs .exchange .answer")
        text = answers[-1].text if answers else ""  # what is visible, not only what the DOM holds
        if text and (not seen or text != seen[-1]):
            seen.append(text)
        if done and seen:
            break
        time.sleep(0.03)
    answer = "Good day Ana! You said: one two three four five six seven eight (turn 1)"
    assert seen[-1] == answer
    assert len(seen) >= 4, seen  # it grew piece by piece
    assert all(later.startswith(earlier) for earlier, later in itertools.pairwise(seen))
    assert "tokens" in last_exchange(browser).find_element(By.CSS_SELECTOR, ".meta").text
    browser.save_screenshot(str(ARTIFACTS / "playground-chat.png"))

    find(browser, "#copy").click()
    wait(browser, lambda: find(browser, "#copy-status").text.startswith("Copied"))
    curl = browser.execute_async_script("navigator.clipboard.readText().then(arguments[0])")
    assert curl == snippet(browser, "curl")
    assert f"{served.base_url}/apps/demo-chat/run" in curl
    assert run_copied_curl(curl, served) == answer
    assert run_python_snippet(snippet(browser, "python"), served) == answer
    assert run_js_snippet(browser, snippet(browser, "js"), served) == answer
    find(browser, "#tab-curl").send_keys(Keys.ARROW_RIGHT)  # the tabs follow the arrow keys
    assert find(browser, "#snippet-python").is_displayed() and not find(browser, "#snippet-curl").is_displayed()
    assert browser.switch_to.active_element == find(browser, "#tab-python")

    # The type was detected from the events; the conversation continues on chat-messages.
    assert Select(find(browser, "#mode")).first_selected_option.get_attribute("value") == "chat"
    assert "Conversation" in find(browser, "#conversation").text
    assert query.get_attribute("value") == ""
    query.send_keys("And again")
    find(browser, "#run").click()
    wait(
        browser,
        lambda: (
            len(browser.find_elements(By.CSS_SELECTOR, "#runs .exchange")) == 2
            and "(turn 2)" in last_exchange(browser).text
            and finished(browser)
        ),
    )
    assert last_exchange(browser).find_element(By.CSS_SELECTOR, ".user").text == "And again"
    assert (
        last_exchange(browser).find_element(By.CSS_SELECTOR, ".answer").text
        == "Good day Ana! You said: And again (turn 2)"
    )
    assert "/apps/demo-chat/chat-messages" in snippet(browser, "curl")
    assert '"conversation_id"' in snippet(browser, "curl")
    assert console_errors(browser) == []


def test_workflow_uploads_a_file_and_shows_node_progress_and_outputs(browser, served, tmp_path):
    open_page(browser, served)
    open_app(browser, served, "demo-workflow")
    Select(find(browser, "#mode")).select_by_value("workflow")
    assert not find(browser, "#query").is_displayed()
    find(browser, "#input-0").send_keys("hello")
    upload = tmp_path / "notes.txt"
    upload.write_bytes(b"quack")
    find(browser, "#input-1").send_keys(str(upload))
    wait(browser, lambda: "Uploaded notes.txt (5 bytes)" in find(browser, "#input-1-status").text)
    find(browser, "#run").click()
    wait(
        browser,
        lambda: finished(browser) and last_exchange(browser).find_element(By.CSS_SELECTOR, ".outputs").is_displayed(),
    )
    exchange = last_exchange(browser)
    outputs = json.loads(exchange.find_element(By.CSS_SELECTOR, ".outputs").text)
    assert outputs["text"].startswith("Echo: hello [file notes.txt (5 bytes, sha256 ")
    assert exchange.find_element(By.CSS_SELECTOR, ".nodes").text.startswith("LLM: succeeded")
    assert "Workflow succeeded" in exchange.find_element(By.CSS_SELECTOR, ".meta").text
    curl = snippet(browser, "curl")
    assert "/apps/demo-workflow/files/upload" in curl and "-F 'file=@\"notes.txt\";type=text/plain'" in curl
    assert "/apps/demo-workflow/workflows/run" in curl and '"tool_file_id"' in curl
    browser.save_screenshot(str(ARTIFACTS / "playground-workflow.png"))
    assert console_errors(browser) == []


def test_completion_failure_is_shown_with_its_code_and_why(browser, served):
    # "/fail before" makes the demo app fail as Dify fails every completion app called by a plugin.
    open_page(browser, served)
    open_app(browser, served, "demo-completion")
    Select(find(browser, "#mode")).select_by_value("completion")
    find(browser, "#input-0").send_keys("/fail before")
    find(browser, "#run").click()
    wait(
        browser,
        lambda: finished(browser) and last_exchange(browser).find_element(By.CSS_SELECTOR, ".error").is_displayed(),
    )
    error = last_exchange(browser).find_element(By.CSS_SELECTOR, ".error").text
    # On the completion route Duck names Dify's bare 500 for what it is (issue 13).
    assert error.startswith("501 completion_apps_unsupported: "), error
    assert "cannot run Completion" in error
    browser.save_screenshot(str(ARTIFACTS / "playground-completion-error.png"))


def test_a_stream_ending_in_an_error_event_says_so(browser, served):
    open_page(browser, served)
    open_app(browser, served, "demo-chat")
    find(browser, "#query").send_keys("/fail during", Keys.CONTROL, Keys.ENTER)
    wait(
        browser,
        lambda: finished(browser) and last_exchange(browser).find_element(By.CSS_SELECTOR, ".error").is_displayed(),
    )
    error = last_exchange(browser).find_element(By.CSS_SELECTOR, ".error").text
    assert error == (
        "The stream ended with an error event: 400 completion_request_error: "
        "[demo] The model failed in the middle of its answer."
    )


def test_stop_ends_a_run_and_new_conversation_starts_over(browser, served):
    open_page(browser, served)
    open_app(browser, served, "demo-chat")
    find(browser, "#query").send_keys("/pause 20", Keys.CONTROL, Keys.ENTER)  # silent after its first token
    wait(browser, lambda: last_exchange(browser).find_element(By.CSS_SELECTOR, ".answer").text.strip() == "Hi")
    find(browser, "#stop").click()
    wait(browser, lambda: finished(browser))
    notes = [span.text for span in last_exchange(browser).find_elements(By.CSS_SELECTOR, ".meta span")]
    assert notes[0].startswith("req_") and notes[1:] == ["Stopped."]  # Duck's request id, then what happened
    find(browser, "#new-conversation").click()
    assert find(browser, "#conversation").text == "" and not browser.find_elements(By.CSS_SELECTOR, ".exchange")
    find(browser, "#query").send_keys("Hello", Keys.CONTROL, Keys.ENTER)
    wait(browser, lambda: finished(browser) and "tokens" in last_exchange(browser).text)
    assert last_exchange(browser).find_element(By.CSS_SELECTOR, ".answer").text.endswith("(turn 1)")


def test_a_wrong_key_shows_the_401_message_and_stays_out_of_urls(browser, served):
    open_page(browser, served)
    connect(browser, "wrong-key-0123456789")
    wait(browser, lambda: find(browser, "#connect-error").is_displayed())
    message = find(browser, "#connect-error").text
    assert message.startswith("401 invalid_api_key: ") and "Check the key" in message
    assert "wrong-key" not in browser.current_url
    assert browser.execute_script("return sessionStorage.getItem('duck.playground.key')") == "wrong-key-0123456789"
    assert browser.execute_script("return localStorage.length") == 0
    # The only console errors are the browser's own notes of the refused request.
    errors = console_errors(browser)
    assert errors and all("status of 401" in entry for entry in errors), errors


def test_readable_on_a_phone(browser, served):
    browser.set_window_size(390, 844)
    try:
        open_page(browser, served)
        open_app(browser, served, "demo-workflow")
        assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
        left = {find(browser, css).rect["x"] for css in ("#app", "#request")}
        assert len(left) == 1  # one column
        browser.save_screenshot(str(ARTIFACTS / "playground-phone.png"))
    finally:
        browser.set_window_size(1280, 1000)


@pytest.mark.parametrize("app_id", ["demo-chatflow", "demo-agent"])
def test_other_chat_types_are_detected_and_stream(browser, served, app_id):
    # Typed in: /apps/<id> routes serve any app, whatever openai_models lists.
    open_page(browser, served)
    open_app(browser, served, app_id)
    find(browser, "#query").send_keys("Quack", Keys.CONTROL, Keys.ENTER)
    wait(browser, lambda: finished(browser) and "tokens" in last_exchange(browser).text)
    exchange = last_exchange(browser)
    assert exchange.find_element(By.CSS_SELECTOR, ".answer").text == "Hi there! You said: Quack (turn 1)"
    assert Select(find(browser, "#mode")).first_selected_option.get_attribute("value") == "chat"
    if app_id == "demo-chatflow":
        assert exchange.find_element(By.CSS_SELECTOR, ".nodes").text == "LLM: succeeded in 0.01 s"
    assert console_errors(browser) == []


def test_the_pinned_app_opens_by_itself(browser):
    pinned = Runtime("app=demo-workflow")
    try:
        open_page(browser, pinned)
        connect(browser, pinned.api_key)
        wait(browser, lambda: find(browser, "#app").is_displayed())
        assert find(browser, "#app-title").text == "Run demo-workflow"
        assert find(browser, "#apps-hint").text == "This endpoint serves: demo-workflow."
    finally:
        pinned.stop()


# Every input type of Dify's user_input_form (the demo apps use only some): the endpoint's answer to
# /parameters is replaced in the page, and the request the form builds is read from the curl preview.
EVERY_INPUT_TYPE = {
    "user_input_form": [
        {"text-input": {"type": "text-input", "variable": "name", "label": "Name", "required": True, "max_length": 8}},
        {"paragraph": {"type": "paragraph", "variable": "notes", "label": "Notes", "required": False}},
        {"select": {"type": "select", "variable": "tone", "label": "Tone", "options": ["calm", "loud"]}},
        {"number": {"type": "number", "variable": "count", "label": "Count", "default": 2}},
        {"checkbox": {"type": "checkbox", "variable": "agree", "label": "Agree"}},
        {"file-list": {"type": "file-list", "variable": "docs", "label": "Docs", "max_length": 3}},
        {"json_object": {"type": "json_object", "variable": "extra", "label": "Extra"}},
    ]
}


def test_every_input_type_renders_labelled_and_builds_the_inputs(browser, served):
    open_page(browser, served)
    browser.execute_script(
        """
        const form = arguments[0], realFetch = window.fetch;
        window.fetch = (url, init) => String(url).endsWith("/parameters")
            ? Promise.resolve(new Response(JSON.stringify(form), {headers: {"Content-Type": "application/json"}}))
            : realFetch(url, init);""",
        EVERY_INPUT_TYPE,
    )
    open_app(browser, served, "demo-chat")
    controls = browser.find_elements(By.CSS_SELECTOR, "#inputs input, #inputs textarea, #inputs select")
    kinds = [(c.tag_name, c.get_attribute("type")) for c in controls]
    assert kinds == [
        ("input", "text"),
        ("textarea", "textarea"),
        ("select", "select-one"),
        ("input", "number"),
        ("input", "checkbox"),
        ("input", "file"),
        ("textarea", "textarea"),
    ]
    for control in controls:
        assert find(browser, f"label[for='{control.get_attribute('id')}']").text
    assert controls[0].get_attribute("maxlength") == "8" and controls[3].get_attribute("value") == "2"
    assert controls[5].get_attribute("multiple") == "true"
    controls[0].send_keys("Ana")
    Select(controls[2]).select_by_value("loud")
    controls[3].clear()
    controls[3].send_keys("3")
    controls[4].send_keys(Keys.SPACE)  # a checkbox toggles from the keyboard
    controls[6].send_keys('{"k": [1, true]}')
    body = json.loads(re.search(r"-d '(.*)'$", snippet(browser, "curl"), re.S).group(1))
    assert body["inputs"] == {"name": "Ana", "tone": "loud", "count": 3, "agree": True, "extra": {"k": [1, True]}}
    assert '"count": 3' in snippet(browser, "python") and '"agree": True' in snippet(browser, "python")
