"""The raw HTTP request the plugin receives: the daemon's copyRequest, serialized by Go's Request.Write.

Daemon: internal/service/endpoint.go (copyRequest) and internal/server/endpoint.go (X-Original-Host).
Go's net/http: request.go (Request.write), transfer.go (newTransferWriter, shouldSendContentLength,
shouldSendChunkedRequestBody, probeRequestBody), header.go (writeSubset), url.go (EscapedPath,
Values.Encode, parseQuery), textproto (CanonicalMIMEHeaderKey).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, quote_plus, unquote_to_bytes

MAX_BODY_BYTES = 10 * 1024 * 1024  # copyRequest: io.LimitReader(req.Body, 10 MiB), the rest dropped
DEFAULT_USER_AGENT = "Go-http-client/1.1"  # request.go's defaultUserAgent
# copyRequest deletes these "ip traces" (Header.Del canonicalizes, so any spelling goes).
DELETED = {
    "X-Forwarded-For",
    "X-Real-Ip",
    "X-Forwarded",
    "X-Original-Forwarded-For",
    "X-Original-Url",
    "X-Original-Host",
}
# Request.write writes these itself, not from the header map (reqWriteExcludeHeader).
WRITTEN_APART = {"Host", "User-Agent", "Content-Length", "Transfer-Encoding", "Trailer"}
# transferWriter probes the body of these and sends none when it is empty (requestMethodUsuallyLacksBody).
USUALLY_WITHOUT_BODY = {"GET", "HEAD", "DELETE", "OPTIONS", "PROPFIND", "SEARCH"}
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_VALID_HOST = re.compile(r"^[0-9A-Za-z!$%&'()*+,\-.:;=\[\]_~]*$")  # httpguts.ValidHostHeader
_VALID_ESCAPES = re.compile(r"%(?![0-9A-Fa-f]{2})")


@dataclass
class Incoming:
    """The client's request as the daemon's Go server parsed it."""

    method: str
    path: bytes  # percent-decoded, as Go's URL.Path and gin's *path (without /e/<hook_id>)
    query: str  # as sent
    headers: list[tuple[str, str]]  # every header line, in order, names as sent
    body: bytes
    http10: bool = False
    tls: bool = False


def copy_request(request: Incoming, hook_id: str) -> bytes:
    """The bytes the plugin gets in `raw_http_request`."""
    header: dict[str, list[str]] = {}
    for name, value in request.headers:
        header.setdefault(canonical_key(name), []).append(value)
    for name in DELETED:
        header.pop(name, None)
    # internal/server/endpoint.go sets X-Original-Host to the request's Host when absent; copyRequest
    # then takes the Host from it, so a client's own X-Original-Host wins.
    original_host = _first(request.headers, "X-Original-Host")
    host = original_host or _first(request.headers, "Host")
    header["Dify-Hook-Id"] = [hook_id]
    if not _first(request.headers, "Dify-Hook-Url"):
        https = request.tls or _first(request.headers, "X-Forwarded-Proto") == "https"
        path = request.path.decode("latin-1")  # the unescaped path, as fmt.Sprintf writes it
        header["Dify-Hook-Url"] = [f"{'https' if https else 'http'}://{host}/e/{hook_id}{path}"]

    # Request.write sends an empty Host rather than an invalid one (the hook URL above keeps it as is).
    written_host = host if _VALID_HOST.match(host) else ""
    lines = [f"{request.method} {request_uri(request.path, request.query)} HTTP/1.1", f"Host: {written_host}"]
    user_agent = header.get("User-Agent", [DEFAULT_USER_AGENT])[0]
    if user_agent:  # present but empty: Go sends no User-Agent at all
        lines.append(f"User-Agent: {_clean(user_agent)}")
    if _closes(request.http10, header.get("Connection", [])):
        lines.append("Connection: close")
    body = request.body
    if body:
        lines.append(f"Content-Length: {len(body)}")
    elif request.method not in USUALLY_WITHOUT_BODY:
        # copyRequest sets a non-nil reader with ContentLength 0: outgoingLength() is -1, so a POST
        # or PUT goes out chunked, and the plugin's SDK does not de-chunk it.
        lines.append("Transfer-Encoding: chunked")
        body = b"0\r\n\r\n"
    for name in sorted(header):
        if name not in WRITTEN_APART:
            lines += [f"{name}: {_clean(value)}" for value in header[name]]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace") + body


def request_uri(path: bytes, query: str) -> str:
    """URL.RequestURI(): the path re-escaped by EscapedPath, then the query re-encoded."""
    target = quote(path, safe="/:@$&+,;=-._~") or "/"  # Go's encodePath keeps exactly these
    encoded = encode_query(query)
    return target + ("?" + encoded if encoded else "")


def encode_query(query: str) -> str:
    """url.Values.Encode(URL.Query()): keys sorted, a key's values in their order, pairs Go refuses dropped."""
    values: dict[bytes, list[bytes]] = {}
    for pair in query.split("&"):
        if ";" in pair or not pair:  # parseQuery: "invalid semicolon separator", empty pairs skipped
            continue
        key, _, value = pair.partition("=")
        if _VALID_ESCAPES.search(key) or _VALID_ESCAPES.search(value):
            continue  # QueryUnescape failed: the pair is dropped
        values.setdefault(_unescape(key), []).append(_unescape(value))
    return "&".join(f"{quote_plus(k, safe='')}={quote_plus(v, safe='')}" for k in sorted(values) for v in values[k])


def canonical_key(name: str) -> str:
    """textproto.CanonicalMIMEHeaderKey: X_my_header stays one word; names with invalid bytes unchanged."""
    if not _TOKEN.match(name):
        return name
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


def valid_header(name: str, value: str) -> bool:
    """textproto.readMIMEHeader's checks, which Go's server applies before any handler: the name a
    token, no control character but tab in the value (validHeaderValueByte)."""
    return bool(_TOKEN.match(name)) and not any((c < " " and c != "\t") or c == "\x7f" for c in value)


def _unescape(text: str) -> bytes:
    return unquote_to_bytes(text.replace("+", " "))


def _first(headers: list[tuple[str, str]], name: str) -> str:
    """Header.Get: the first value of a header, whatever the spelling of its name."""
    return next((v for k, v in headers if canonical_key(k) == name), "")


def _clean(value: str) -> str:
    """headerNewlineToSpace, then textproto.TrimString (spaces and tabs)."""
    return value.replace("\r", " ").replace("\n", " ").strip(" \t")


def _closes(http10: bool, connection: list[str]) -> bool:
    """The server's shouldClose decides req.Close; Request.write adds the line if the header lacks it."""
    tokens = {t.strip().lower() for v in connection for t in v.split(",")}
    closes = "close" in tokens or (http10 and "keep-alive" not in tokens)
    return closes and "close" not in tokens
