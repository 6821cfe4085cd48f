"""python -m bench [--quick]: Duck's relay cost against the SDK floor and the docs' Duck pattern.

Every figure is compared with its baseline in the same run, over several rounds (median and spread).
Prints a table and writes bench/results.json.
"""

import dify_plugin  # noqa: F401, I001  (first: the SDK's own gevent monkey-patching, as in the plugin)

import argparse
import json
import os
import platform
import re
import statistics
import time
from pathlib import Path

import gevent
import httpx
import psutil

from bench.load import run_load
from dify_plugin.core.server.stdio.response_writer import StdioResponseWriter

from devkit.harness import Runtime, read_slowly
from devkit.host import Host
from devkit.inprocess import InProcessPlugin, raw_request
from devkit.plugin_process import PluginProcess
from devkit.storage import Storage

ROOT = Path(__file__).resolve().parent.parent  # the Duck checkout
BASELINE = ROOT / "bench" / "baseline_plugin"
BARE = ROOT / "tests" / "bare_plugin"
RESULTS = ROOT / "bench" / "results.json"
KEY = "bench-key"

FULL = {
    "relay_events": 100_000,
    "rounds": 5,
    "ttfb_requests": 200,
    "one_stream": 20_000,
    "streams": 50,
    "stream_events": 2_000,
    "memory_events": 1_000_000,
    "slow_streams": 200,
    "cold_starts": 5,
    "paused_events": 5_000,
    "slow_client_pause": 5,
}
QUICK = {
    "relay_events": 2_000,
    "rounds": 2,
    "ttfb_requests": 10,
    "one_stream": 500,
    "streams": 5,
    "stream_events": 100,
    "memory_events": 5_000,
    "slow_streams": 10,
    "cold_starts": 1,
    "paused_events": 1_000,
    "slow_client_pause": 1,
}


class ReplayApps:
    """A test double of the chat invoker: replays the same realistic events for every call."""

    def __init__(self, count: int):
        base = {
            "event": "message",
            "conversation_id": "45701982-8118-4bc5-8e9b-64562b4555f2",
            "message_id": "9da23599-e713-473b-982c-4328d4f5c78a",
            "created_at": 1705407629,
            "task_id": "900bbd43-dc0b-4383-a372-aa6e6c414227",
            "id": "9da23599-e713-473b-982c-4328d4f5c78a",
            "from_variable_selector": None,
        }
        self.events = [{**base, "answer": f"tok{i} "} for i in range(count)]

    def app_ids(self):
        return ["bench"]

    def invoke(self, request):
        return iter(self.events)

    def fetch_app(self, app_id):
        return {}


class ReplayHost(Host):
    """The host for the in-process relay: app events straight from the replay, no stream-cut timer.

    The daemon cuts app streams in Go; its per-event timer in the dev kit is no cost of the plugin's,
    and would hide the plugin's own costs, which this benchmark compares.
    """

    def handle(self, kind: str, request: dict):
        return self.apps.invoke(request) if kind == "app" else super().handle(kind, request)


def spread(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def relay(sizes: dict) -> tuple[dict, dict]:
    """(1) In process: events through the handler and the SDK's endpoint encoding path.

    The app's events are all waiting (a burst), so Duck joins them into chunks of up to 1 MiB, while
    the floor and the docs' pattern send one chunk per event. Returns the rates, and the chunks each
    variant sent for the burst.
    """
    events = sizes["relay_events"]
    host = ReplayHost(ReplayApps(events), Storage())
    duck, baseline = InProcessPlugin(ROOT, host), InProcessPlugin(BASELINE, host)
    body = json.dumps({"query": "hello"}).encode()
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
    variants = {
        "floor": (baseline, raw_request("POST", "/floor/bench", body)),
        "duck_pattern": (baseline, raw_request("POST", "/docs-duck/bench", body)),
        "duck_sse": (duck, raw_request("POST", "/apps/bench/chat-messages", body, headers)),
        "duck_ndjson": (
            duck,
            raw_request("POST", "/apps/bench/chat-messages", body, {**headers, "Accept": "application/x-ndjson"}),
        ),
    }
    rates: dict[str, list[float]] = {name: [] for name in variants}
    chunks: dict[str, int] = {}
    writer = StdioResponseWriter()
    for _ in range(sizes["rounds"]):
        for name, (plugin, request) in variants.items():  # interleaved, so drift hits all alike
            started = time.perf_counter()
            sent = 0
            for message in plugin.stream(request, {"api_key": KEY}):
                # The line the plugin would write to stdout for this chunk (the SDK's own serializer).
                writer.session_message_text(session_id="bench", data=writer.stream_object(message))
                sent += "result" in message
            elapsed = time.perf_counter() - started
            rates[name].append(events / elapsed)
            chunks[name] = sent
    # Untimed: Duck's chunks carry every event of the burst, whole.
    plugin, request = variants["duck_sse"]
    reply = plugin.dispatch(request, {"api_key": KEY})
    assert reply.body.count(b"data: ") == events and max(map(len, reply.chunks)) <= 1024 * 1024, "lost events"
    assert chunks["floor"] >= events and chunks["duck_pattern"] >= events, chunks
    return {name: spread(values) for name, values in rates.items()}, chunks


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def ttfb(url: str, client: httpx.Client, count: int, **kwargs) -> list[float]:
    """Milliseconds to the first body byte; POST when a JSON body is given, else GET."""
    times = []
    for _ in range(count):
        started = time.perf_counter()
        with client.stream("POST" if "json" in kwargs else "GET", url, **kwargs) as response:
            next(response.iter_raw())
            times.append((time.perf_counter() - started) * 1000)
    return times


def end_to_end(sizes: dict) -> dict:
    """(2) Through the local runtime on loopback: time to first byte and events per second."""
    duck, bare = Runtime(), Runtime(plugin_dir=BARE)
    try:
        with httpx.Client(headers=duck.headers, timeout=120) as client:
            chat = duck.base_url + "/apps/demo-chat/chat-messages"
            hello = bare.base_url + "/hello/bench"
            ttfb(chat, client, 5, json={"query": "warm"})  # warm-up, not measured
            ttfb(hello, client, 5)
            duck_ms, bare_ms = [], []
            for _ in range(sizes["ttfb_requests"]):  # interleaved pairs
                duck_ms += ttfb(chat, client, 1, json={"query": "hi"})
                bare_ms += ttfb(hello, client, 1)
            started = time.perf_counter()
            client.post(chat, json={"query": f"/tokens {sizes['one_stream']}"}).read()
            one_stream = sizes["one_stream"] / (time.perf_counter() - started)
        load = run_load(duck.base_url, duck.api_key, sizes["streams"], sizes["stream_events"])
        assert load.ok, load
        return {
            "ttfb_duck_ms": {"p50": percentile(duck_ms, 0.5), "p99": percentile(duck_ms, 0.99)},
            "ttfb_bare_ms": {"p50": percentile(bare_ms, 0.5), "p99": percentile(bare_ms, 0.99)},
            "one_stream_events_per_s": one_stream,
            "concurrent_events_per_s": load.delivered / load.seconds,
        }
    finally:
        duck.stop()
        bare.stop()


def memory(sizes: dict) -> dict:
    """(3) Plugin RSS sampled while one stream of many events passes through."""
    duck = Runtime(plugin_dir=ROOT)
    try:
        plugin = duck.plugin_process()
        with httpx.Client(headers=duck.headers, timeout=600) as client:
            client.post(duck.base_url + "/apps/demo-chat/chat-messages", json={"query": "/tokens 1000"}).read()
            baseline = plugin.memory_info().rss
            samples = []
            sampler_done = gevent.event.Event()

            def sample():
                while not sampler_done.wait(0.2):
                    samples.append(plugin.memory_info().rss)

            sampler = gevent.spawn(sample)
            with client.stream(
                "POST",
                duck.base_url + "/apps/demo-chat/chat-messages",
                json={"query": f"/tokens {sizes['memory_events']}"},
            ) as response:
                for _ in response.iter_raw():
                    pass
            sampler_done.set()
            sampler.join()
            samples.append(plugin.memory_info().rss)
        return {
            "rss_baseline_mb": baseline / 2**20,
            "rss_peak_mb": max(samples) / 2**20,
            "rss_growth_mb": (max(samples) - baseline) / 2**20,
        }
    finally:
        duck.stop()


def concurrency(sizes: dict) -> dict:
    """(4) Many paced streams at once against one: 100 events, 20 ms apart."""
    duck = Runtime(plugin_dir=ROOT, delay_ms=20)
    try:
        # The client only counts events here: a full parse would compete for the same two cores.
        one = run_load(duck.base_url, duck.api_key, 1, 100, verify=False)
        many = run_load(duck.base_url, duck.api_key, sizes["slow_streams"], 100, verify=False)
        assert one.ok and many.ok, (one, many)
        return {"one_stream_s": one.seconds, "many_streams_s": many.seconds, "streams": sizes["slow_streams"]}
    finally:
        duck.stop()


def cold_start(sizes: dict) -> dict:
    """(5) Spawn to first heartbeat: Duck against a bare one-endpoint SDK plugin."""
    times: dict[str, list[float]] = {"duck": [], "bare": []}
    for _ in range(sizes["cold_starts"]):
        for name, folder in (("duck", ROOT), ("bare", BARE)):
            process = PluginProcess(folder, Host(ReplayApps(0), Storage()), echo=lambda line: None)
            started = time.perf_counter()
            process.start()
            times[name].append(time.perf_counter() - started)
            process.stop()
    return {name: spread(values) for name, values in times.items()}


def paused_client(sizes: dict) -> dict:
    """(6) Events lost by a client that stops reading for 3 s (the daemon's 128-chunk queue drops the
    rest): Duck, and a plugin that sends one chunk per event (the bare plugin's /hello/chunks, 3000)."""
    duck, bare = Runtime(), Runtime(plugin_dir=BARE)
    try:
        events = sizes["paused_events"]
        answer = read_slowly(
            duck.base_url + "/apps/demo-chat/chat-messages", {"query": f"/tokens {events}"}, duck.headers, pause=3
        )
        delivered = sum(1 for e in answer.events() if e["event"] in ("message", "message_end"))
        uncoalesced = read_slowly(bare.base_url + "/hello/chunks", None, {}, pause=3)
        return {
            "events": events + 1,
            "delivered": delivered,
            "lost": events + 1 - delivered,
            "uncoalesced_lost": 3000 - len(uncoalesced.events()),
        }
    finally:
        duck.stop()
        bare.stop()


def slow_client(sizes: dict) -> dict:
    """(7) A client that stops reading for a while during an app answering 1,000 events a second, through
    the dev kit's copy of the daemon's 128-chunk drop queue: Duck, and one chunk per event (the baseline
    plugin's /per-event handler, the same app, the same pause), side by side."""
    pause = sizes["slow_client_pause"]
    events = 1000 * (pause + 1)
    duck, per_event = Runtime(delay_ms=1), Runtime(plugin_dir=BASELINE, delay_ms=1)
    try:
        query = {"query": f"/tokens {events}"}
        reads = [
            gevent.spawn(read_slowly, duck.base_url + "/apps/demo-chat/chat-messages", query, duck.headers, pause),
            gevent.spawn(read_slowly, per_event.base_url + "/per-event/demo-chat", query, {}, pause),
        ]
        coalesced, one_chunk_each = (job.get(timeout=120) for job in reads)

        def lost(answer) -> int:
            return events - sum(1 for e in answer.events() if e.get("event") == "message")

        # The runtime logs each request's chunks and time: Duck's pace, measured.
        duck.wait_for_output("chat-messages 200 ttfb=")
        line = next(line for line in duck.lines if "chat-messages 200 ttfb=" in line)
        total_ms, chunks = (
            float(re.search(pattern, line).group(1)) for pattern in (r"total=([\d.]+)ms", r"chunks=(\d+)")
        )
        return {
            "events": events,
            "pause_s": pause,
            "lost": lost(coalesced),
            "lost_per_event_chunks": lost(one_chunk_each),
            "duck_chunks": int(chunks),
            "duck_chunks_per_s": chunks / (total_ms / 1000),
        }
    finally:
        duck.stop()
        per_event.stop()


def machine() -> dict:
    return {
        "python": platform.python_version(),
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "dify_plugin": "0.10.2",
    }


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run of seconds")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    os.environ.setdefault("ENDPOINT_KIT_KEEPALIVE_SECONDS", "10")
    started = time.perf_counter()
    relay_rates, relay_chunks = relay(sizes)
    raw = {
        "relay": relay_rates,
        "relay_chunks": relay_chunks,
        "end_to_end": end_to_end(sizes),
        "memory": memory(sizes),
        "concurrency": concurrency(sizes),
        "cold_start": cold_start(sizes),
        "paused_client": paused_client(sizes),
        "slow_client": slow_client(sizes),
    }
    r, e = raw["relay"], raw["end_to_end"]
    results = {
        "relay_sse_vs_floor": r["duck_sse"]["median"] / r["floor"]["median"],
        "relay_sse_vs_duck_pattern": r["duck_sse"]["median"] / r["duck_pattern"]["median"],
        "relay_ndjson_vs_floor": r["duck_ndjson"]["median"] / r["floor"]["median"],
        # The same burst, named for what it measures since Duck coalesces: joined chunks against one per event.
        "relay_coalesced_vs_floor": r["duck_sse"]["median"] / r["floor"]["median"],
        "relay_coalesced_vs_duck_pattern": r["duck_sse"]["median"] / r["duck_pattern"]["median"],
        "burst_events_per_chunk": sizes["relay_events"] / relay_chunks["duck_sse"],
        "slow_client_events_lost": raw["slow_client"]["lost"],
        "slow_client_events_lost_per_event_chunks": raw["slow_client"]["lost_per_event_chunks"],
        "ttfb_overhead_ms_p50": e["ttfb_duck_ms"]["p50"] - e["ttfb_bare_ms"]["p50"],
        "rss_growth_mb": raw["memory"]["rss_growth_mb"],
        "concurrency_ratio": raw["concurrency"]["many_streams_s"] / raw["concurrency"]["one_stream_s"],
        "cold_start_ratio": raw["cold_start"]["duck"]["median"] / raw["cold_start"]["bare"]["median"],
        "sizes": sizes,
        "machine": machine(),
        "details": raw,
        "seconds": time.perf_counter() - started,
    }
    args.output.write_text(json.dumps(results, indent=2))
    print(table(results))
    return 0


def table(res: dict) -> str:
    r, e, d = res["details"]["relay"], res["details"]["end_to_end"], res["details"]
    m = res["machine"]
    rows = [
        f"machine: Python {m['python']}, {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB, dify_plugin {m['dify_plugin']}",
        "",
        "| figure | value | target |",
        "|---|---|---|",
        f"| relay events/s: floor / docs pattern / Duck SSE / Duck NDJSON (median) | "
        f"{r['floor']['median']:,.0f} / {r['duck_pattern']['median']:,.0f} / {r['duck_sse']['median']:,.0f} / "
        f"{r['duck_ndjson']['median']:,.0f} | |",
        f"| Duck SSE (coalesced) vs floor | {res['relay_coalesced_vs_floor']:.2f}x | >= 2x |",
        f"| Duck SSE (coalesced) vs docs' Duck pattern | {res['relay_coalesced_vs_duck_pattern']:.2f}x | >= 2x |",
        f"| Duck NDJSON vs floor | {res['relay_ndjson_vs_floor']:.2f}x | |",
        f"| burst: events per chunk (Duck SSE; floor and docs pattern: 1) | {res['burst_events_per_chunk']:,.0f} | |",
        f"| TTFB p50 / p99: Duck chat vs bare endpoint (ms) | {e['ttfb_duck_ms']['p50']:.1f} / "
        f"{e['ttfb_duck_ms']['p99']:.1f} vs {e['ttfb_bare_ms']['p50']:.1f} / {e['ttfb_bare_ms']['p99']:.1f} | |",
        f"| TTFB overhead p50 | {res['ttfb_overhead_ms_p50']:.1f} ms | < 5 ms |",
        f"| end-to-end events/s: one stream / {res['sizes']['streams']} streams summed | "
        f"{e['one_stream_events_per_s']:,.0f} / {e['concurrent_events_per_s']:,.0f} | |",
        f"| plugin RSS growth over {res['sizes']['memory_events']:,} events | {res['rss_growth_mb']:.1f} MB | < 20 MB |",
        f"| {d['concurrency']['streams']} paced streams vs one (wall time) | {res['concurrency_ratio']:.2f}x | <= 1.5x |",
        f"| cold start: Duck vs bare plugin ({d['cold_start']['duck']['median']:.2f} s vs "
        f"{d['cold_start']['bare']['median']:.2f} s) | {res['cold_start_ratio']:.2f}x | <= 1.2x |",
        f"| events lost by a client paused 3 s: Duck ({d['paused_client']['events']:,} events) / one chunk per "
        f"event (3,000) | {d['paused_client']['lost']:,} / {d['paused_client']['uncoalesced_lost']:,} | 0 / |",
        f"| events lost by a client paused {d['slow_client']['pause_s']} s while the app sends 1,000 a second "
        f"({d['slow_client']['events']:,} events): Duck / one chunk per event | {res['slow_client_events_lost']:,} / "
        f"{res['slow_client_events_lost_per_event_chunks']:,} | 0 / |",
        f"| Duck's pace in that stream: chunks sent / per second | {d['slow_client']['duck_chunks']:,} / "
        f"{d['slow_client']['duck_chunks_per_s']:.1f} | <= 20 / s |",
        "",
        f"rounds: {res['sizes']['rounds']}; relay spread (min-max events/s): "
        + ", ".join(f"{k} {v['min']:,.0f}-{v['max']:,.0f}" for k, v in r.items())
        + f"; total {res['seconds']:.0f} s",
    ]
    return "\n".join(rows)


if __name__ == "__main__":
    raise SystemExit(main())
