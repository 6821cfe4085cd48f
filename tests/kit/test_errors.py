"""EndpointError: the JSON shape callers see and the retry advice the handler wrapper turns into a header."""

from endpoint_kit import EndpointError, internal_error, invalid_param


def test_an_error_is_the_service_apis_json_shape():
    error = EndpointError(409, "conflict", "Already there.", {"Retry-After": "3"})
    assert error.to_dict() == {"code": "conflict", "message": "Already there.", "status": 409}
    assert error.headers == {"Retry-After": "3"} and str(error) == "Already there."


def test_no_retry_once_the_app_may_have_run_or_on_any_5xx():
    assert not invalid_param("bad").no_retry
    assert invalid_param("bad").after_run().no_retry
    assert internal_error().no_retry and internal_error().status == 500
