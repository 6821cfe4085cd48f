"""A smoke run of the benchmark suite, so that it cannot rot. It asserts shape, never timing."""

import json
import subprocess
import sys

from tests.conftest import ROOT

KEYS = [
    "relay_sse_vs_floor",
    "relay_sse_vs_duck_pattern",
    "relay_ndjson_vs_floor",
    "ttfb_overhead_ms_p50",
    "rss_growth_mb",
    "concurrency_ratio",
    "cold_start_ratio",
    "relay_coalesced_vs_floor",
    "relay_coalesced_vs_duck_pattern",
    "burst_events_per_chunk",
]
COUNTS = ["slow_client_events_lost", "slow_client_events_lost_per_event_chunks"]


def test_quick_benchmark_runs_and_reports_every_figure(tmp_path):
    output = tmp_path / "results.json"
    run = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--output", str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    results = json.loads(output.read_text())
    assert all(isinstance(results[key], float) for key in KEYS)
    assert all(isinstance(results[key], int) for key in COUNTS)
    assert "| Duck SSE (coalesced) vs floor |" in run.stdout and "machine: Python 3.12" in run.stdout
    assert "| events lost by a client paused" in run.stdout
