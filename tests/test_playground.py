"""GET /playground and its files, through the SDK's dispatch: public, relative, under a strict CSP."""

import json
from html.parser import HTMLParser

from duck import static

NO_KEY = {"Authorization": ""}


class _Page(HTMLParser):
    """What a CSP-minded reviewer looks for: scripts, styles, URLs and inline handlers."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.inline_code: list[str] = []
        self._open: str | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._open = tag

    def handle_data(self, data):
        if self._open in ("script", "style") and data.strip():
            self.inline_code.append(data)


def _get(call, path, headers=NO_KEY):
    return call("GET", path, headers=headers)


def test_page_loads_without_a_key(call):
    reply = _get(call, "/playground")
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "text/html; charset=utf-8"
    assert b"<title>Duck playground</title>" in reply.body
    assert reply.body == (static.PLAYGROUND_DIR / "index.html").read_bytes()


def test_page_has_a_strict_content_security_policy(call):
    headers = _get(call, "/playground").headers
    policy = dict(part.strip().split(" ", 1) for part in headers["Content-Security-Policy"].split(";"))
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'" and policy["object-src"] == "'none'"
    assert "unsafe" not in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"


def test_page_has_no_inline_code_and_only_relative_urls(call):
    page = _Page()
    page.feed(_get(call, "/playground").body.decode())
    assert page.inline_code == []
    for tag, attrs in page.tags:
        assert tag != "style" and "style" not in attrs
        assert not [name for name in attrs if name.startswith("on")], (tag, attrs)
        for name in ("src", "href", "action"):
            url = attrs.get(name)
            if url is not None:  # relative to <endpoint URL>/, or the empty icon
                assert url == "data:," or not url.startswith(("/", "http:", "https:", "//")), url
    scripts = [attrs["src"] for tag, attrs in page.tags if tag == "script"]
    assert scripts == ["playground/app.js"]


def test_assets_are_served_with_their_types(call):
    script = _get(call, "/playground/app.js")
    assert script.status == 200 and script.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert script.body == (static.PLAYGROUND_DIR / "app.js").read_bytes()
    style = _get(call, "/playground/style.css")
    assert style.status == 200 and style.headers["Content-Type"] == "text/css; charset=utf-8"
    assert "Content-Security-Policy" in style.headers


def test_script_calls_the_endpoint_only_by_relative_urls_and_keeps_the_key_out_of_urls():
    script = (static.PLAYGROUND_DIR / "app.js").read_text()
    assert 'fetch("/' not in script and "fetch('/" not in script and "fetch(`/" not in script
    assert "localStorage" not in script  # the key lives in sessionStorage only
    assert "?key=" not in script and "api_key=" not in script


def test_only_the_page_files_are_served(call):
    for name in ("index.html", "secret.py", "..", "%2e%2e%2fmanifest.yaml", "static.py"):
        reply = _get(call, f"/playground/{name}")
        assert reply.status == 404, name
        assert json.loads(reply.body)["code"] == "not_found"


def test_the_page_loads_before_the_endpoint_has_a_key(call):
    # Its calls then answer 503 not_configured, which the page shows with what to do.
    assert call("GET", "/playground", headers=NO_KEY, settings={}).status == 200
    assert call("GET", "/playground/app.js", headers=NO_KEY, settings={}).status == 200
    reply = call("GET", "/v1/models", settings={})
    assert reply.status == 503 and json.loads(reply.body)["error"]["code"] == "not_configured"


def test_assets_are_small():
    sizes = {path.name: path.stat().st_size for path in static.PLAYGROUND_DIR.iterdir()}
    assert set(sizes) == {"index.html", "app.js", "style.css"}
    assert sum(sizes.values()) < 64 * 1024, sizes
