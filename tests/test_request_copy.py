"""The request the plugin receives, byte for byte as the daemon's copyRequest + Go's Request.Write."""

import pytest

from devkit.request_copy import Incoming, canonical_key, copy_request, encode_query, request_uri, valid_header


def copy(method="GET", path=b"/x", query="", headers=(("Host", "h"),), body=b"", **kwargs) -> bytes:
    return copy_request(Incoming(method, path, query, list(headers), body, **kwargs), "hook")


def test_a_get_goes_out_with_go_defaults_and_sorted_headers():
    raw = copy(headers=[("Host", "h"), ("x-b", "1"), ("Accept", "*/*"), ("X-B", " 2 ")])
    assert raw == (
        b"GET /x HTTP/1.1\r\nHost: h\r\nUser-Agent: Go-http-client/1.1\r\nAccept: */*\r\n"
        b"Dify-Hook-Id: hook\r\nDify-Hook-Url: http://h/e/hook/x\r\nX-B: 1\r\nX-B: 2\r\n\r\n"
    )


@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_an_empty_post_or_put_body_goes_out_chunked(method):
    raw = copy(method)
    assert b"\r\nTransfer-Encoding: chunked\r\n" in raw and raw.endswith(b"\r\n\r\n0\r\n\r\n")
    assert b"Content-Length" not in raw


@pytest.mark.parametrize("method", ["GET", "HEAD", "DELETE", "OPTIONS"])
def test_an_empty_body_of_other_methods_has_no_framing(method):
    raw = copy(method)
    assert b"Content-Length" not in raw and b"Transfer-Encoding" not in raw and raw.endswith(b"\r\n\r\n")


def test_a_body_gets_its_exact_length_and_client_framing_is_dropped():
    raw = copy("POST", headers=[("Host", "h"), ("Transfer-Encoding", "chunked"), ("Content-Length", "99")], body=b"abc")
    assert raw.count(b"Content-Length") == 1 and b"\r\nContent-Length: 3\r\n" in raw
    assert b"Transfer-Encoding" not in raw and raw.endswith(b"\r\n\r\nabc")


def test_user_agent_kept_or_removed_when_blank():
    assert b"\r\nUser-Agent: curl/8\r\n" in copy(headers=[("Host", "h"), ("user-agent", "curl/8")])
    assert b"User-Agent" not in copy(headers=[("Host", "h"), ("User-Agent", "")])


def test_underscored_names_pass_canonicalized_as_one_word():
    assert canonical_key("x_my-header") == "X_my-Header"
    assert b"\r\nX_api_key: k\r\n" in copy(headers=[("Host", "h"), ("x_api_key", "k")])


def test_ip_traces_are_deleted_and_x_original_host_becomes_the_host():
    raw = copy(
        headers=[
            ("Host", "h"),
            ("X-Forwarded-For", "1.2.3.4"),
            ("x-real-ip", "1.2.3.4"),
            ("X-Original-Host", "public.example"),
            ("X-Forwarded-Proto", "https"),
        ]
    )
    assert b"1.2.3.4" not in raw and b"X-Original-Host" not in raw
    assert b"\r\nHost: public.example\r\n" in raw and b"Dify-Hook-Url: https://public.example/e/hook/x\r\n" in raw


def test_hook_url_uses_the_unescaped_path_and_a_client_value_wins():
    assert b"Dify-Hook-Url: http://h/e/hook/a b/c\r\n" in copy(path=b"/a b/c")
    raw = copy(headers=[("Host", "h"), ("Dify-Hook-Url", "https://mine/e/x"), ("Dify-Hook-Id", "spoof")])
    assert b"Dify-Hook-Url: https://mine/e/x\r\n" in raw and b"spoof" not in raw


def test_connection_close_for_http10_without_keep_alive():
    assert b"\r\nConnection: close\r\n" in copy(http10=True)
    assert b"Connection: close" not in copy(http10=True, headers=[("Host", "h"), ("Connection", "keep-alive")])
    assert b"\r\nConnection: keep-alive\r\n" in copy(http10=True, headers=[("Host", "h"), ("Connection", "keep-alive")])


def test_query_keys_are_sorted_and_a_keys_values_keep_their_order():
    """url.Values.Encode sorts keys; parseQuery drops pairs with ';' or a bad escape."""
    assert encode_query("b=2&a=1&b=1&c;d=1&e=%zz&&f&g=a+b%2Fc") == "a=1&b=2&b=1&f=&g=a+b%2Fc"


def test_the_path_is_re_escaped_as_go_escapes_paths():
    assert request_uri(b"/a b/!'()*/\xc3\xa9?/$&+,;=@:~", "") == "/a%20b/%21%27%28%29%2A/%C3%A9%3F/$&+,;=@:~"
    assert request_uri(b"/x", "z=1") == "/x?z=1"


def test_an_invalid_host_goes_out_empty():
    raw = copy(headers=[("Host", "h"), ("X-Original-Host", "evil host/x")])
    assert raw.split(b"\r\n")[1] == b"Host: " and b"Dify-Hook-Url: http://evil host/x/e/hook/x\r\n" in raw


def test_go_refuses_control_characters_and_non_token_names():
    assert valid_header("X_ok", "a\tb \x80") and not valid_header("X-Note", "a\x1bb")
    assert not valid_header("X-Note", "a\x7f") and not valid_header("Bad Name", "v")
