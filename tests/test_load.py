"""A small version of the load benchmark (bench/load.py runs 200 x 500)."""

from bench.load import run_load


def test_concurrent_streams_deliver_every_event_once_in_order_byte_exact(runtime):
    result = run_load(
        runtime.base_url, runtime.api_key, streams=20, events=100, plugin_pid=runtime.plugin_process().pid, timeout=120
    )
    assert result.errors == []
    assert (result.delivered, result.lost, result.reordered, result.duplicated, result.not_byte_exact) == (
        2000,
        0,
        0,
        0,
        0,
    )
    assert result.ok
