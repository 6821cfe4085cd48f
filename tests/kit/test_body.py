"""Body readers: requests parsed by the SDK's own HTTP parser, as the daemon's bytes reach a handler."""

import json

import pytest
from dify_plugin.core.utils.http_parser import deserialize_request
from werkzeug.test import EnvironBuilder

from endpoint_kit import EndpointError, check_tree, form_body, json_body, raw_body, text_body


def request(body: bytes, content_type: str | None = "application/json", chunked: bool = False):
    head = ["POST /hook HTTP/1.1", "Host: 127.0.0.1"]
    if content_type:
        head.append(f"Content-Type: {content_type}")
    head.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {len(body)}")
    return deserialize_request(("\r\n".join(head) + "\r\n\r\n").encode() + body)


def refused(read, *args, **kwargs) -> tuple[int, str, str]:
    with pytest.raises(EndpointError) as e:
        read(*args, **kwargs)
    return e.value.status, e.value.code, e.value.message


def test_json_objects_lists_and_scalars_decode():
    assert json_body(request(b'{"a": [1, "\\u00e9"]}')) == {"a": [1, "é"]}
    assert json_body(request(b"[1]", "application/vnd.api+json")) == [1]
    assert json_body(request(b"3", None)) == 3  # no Content-Type is taken as JSON


@pytest.mark.parametrize(
    "body, message",
    [
        (b"", "The request body is empty; send a JSON object."),
        (b"  \n", "The request body is empty; send a JSON object."),
        (b"\xff{}", "The request body is not valid UTF-8."),
        (b'{"a": 1,}', "The request body is not valid JSON"),
        (b'{"a": 1, "a": 2}', "duplicate key 'a'"),
        (b'{"a": NaN}', "NaN is not allowed"),
        (b'{"a": "x\\u0000"}', "must not contain NUL characters"),
        (b'{"a": "\\ud800"}', "lone UTF-16 surrogate"),
        (b'{"a": 18446744073709551616}', "integer beyond 64 bits"),
        (b"[" * 70 + b"]" * 70, "nested too deeply"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ],
)
def test_bad_json_is_a_400_that_says_why(body, message):
    status, code, said = refused(json_body, request(body))
    assert (status, code) == (400, "invalid_param") and message in said


def test_json_refuses_another_content_type():
    assert refused(json_body, request(b"a=1", "application/x-www-form-urlencoded"))[:2] == (
        415,
        "unsupported_media_type",
    )


def test_the_daemons_empty_chunked_body_is_no_body():
    assert raw_body(request(b"0\r\n\r\n", chunked=True)) == b""
    assert refused(json_body, request(b"0\r\n\r\n", chunked=True))[0] == 400


def test_readers_are_bounded():
    r = request(b'{"a": "' + b"x" * 100 + b'"}')
    assert refused(json_body, r, max_bytes=50)[:2] == (413, "request_entity_too_large")
    limited = request(b"y" * 100)
    limited.max_content_length = 10  # as the handler wrapper sets it
    assert refused(raw_body, limited)[:2] == (413, "request_entity_too_large")
    assert raw_body(request(b"y" * 100), max_bytes=100) == b"y" * 100


def test_text_is_utf8_whatever_the_charset_says():
    assert text_body(request("é".encode(), "text/plain; charset=latin-1")) == "é"
    assert refused(text_body, request(b"\xe9", "text/plain; charset=latin-1"))[0] == 400


FORM = "application/x-www-form-urlencoded"


def test_url_encoded_forms_keep_repeated_fields():
    fields = form_body(request(b"text=hello+world&user=%C3%A9&tag=a&tag=b&empty=", FORM))
    assert fields["text"] == "hello world" and fields["user"] == "é" and fields["empty"] == ""
    assert fields.getlist("tag") == ["a", "b"]


@pytest.mark.parametrize(
    "body, status",
    [
        (b"a=%FF", 400),  # percent-decoded bytes that are not UTF-8
        (b"a=\xff", 400),
        (b"a=%00", 400),
        (b"&".join(b"f%d=1" % i for i in range(1001)), 413),
    ],
)
def test_bad_url_encoded_forms(body, status):
    assert refused(form_body, request(body, FORM))[0] == status


def test_a_form_reader_refuses_json():
    assert refused(form_body, request(b"{}"))[:2] == (415, "unsupported_media_type")


def multipart(fields: dict) -> tuple[bytes, str]:
    builder = EnvironBuilder(method="POST", data=fields, content_type="multipart/form-data")
    environ = builder.get_environ()
    return environ["wsgi.input"].read(), environ["CONTENT_TYPE"]


def test_multipart_text_fields():
    body, content_type = multipart({"name": "dück", "note": "\ufffd is fine when sent"})
    assert content_type.startswith("multipart/form-data; boundary=")
    fields = form_body(request(body, content_type))
    assert (fields["name"], fields["note"]) == ("dück", "\ufffd is fine when sent")


def test_multipart_fields_that_are_not_utf8_are_refused():
    body, content_type = multipart({"name": "XX"})
    assert refused(form_body, request(body.replace(b"XX", b"\xff\xfe"), content_type))[0] == 400


def test_multipart_limits():
    body, content_type = multipart({f"f{i}": "v" for i in range(20)})
    assert refused(form_body, request(body, content_type), max_parts=10)[0] == 413
    body, content_type = multipart({"big": "v" * 2000})
    assert refused(form_body, request(body, content_type), max_field_bytes=1000)[0] == 413
    assert refused(form_body, request(b"big=" + b"v" * 2000, FORM), max_field_bytes=1000)[0] == 413


def test_check_tree_accepts_ordinary_json():
    check_tree(json.loads('{"a": [1, 2.5, true, null, "x", {"b": -9223372036854775808}]}'))
