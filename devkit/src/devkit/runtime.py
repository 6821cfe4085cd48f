"""Wires the pieces of a runtime together: config, host, plugin process and its transport, HTTP relay."""

from __future__ import annotations

import logging
from pathlib import Path

from devkit.config import Config, declared_routes
from devkit.demo_apps import DemoApps
from devkit.dify_apps import DifyApps
from devkit.files import FileStore
from devkit.host import Host
from devkit.plugin_process import PluginProcess
from devkit.server import Relay, serve
from devkit.storage import Storage
from devkit.transport_local import LocalTransport
from devkit.transport_remote import RemoteTransport
from devkit.transport_serverless import ServerlessTransport

RUNTIMES = ("local", "remote", "serverless")
ROUTES_SHOWN = 8  # the banner lists the first routes the plugin declares


def build_apps(config: Config, files: FileStore):
    if config.dify_base_url:
        return DifyApps(config.dify_base_url, config.dify_app_keys, completion_works=config.completion_works)
    return DemoApps(
        token_delay=config.token_delay_ms / 1000,
        files=files,
        completion_works=config.completion_works,
        declared=config.demo_apps,
    )


def start(
    plugin_dir: Path,
    config: Config,
    port: int,
    env: dict[str, str] | None = None,
    echo=print,
    python: str | None = None,
    runtime: str = "local",
    wait_for_plugin: bool = False,
):
    """Start the HTTP server and the plugin (with `python`, default this interpreter) in one of the daemon's
    runtimes; returns (plugin, server, apps)."""
    files = FileStore()
    apps = build_apps(config, files)
    transport = {"local": LocalTransport, "remote": RemoteTransport, "serverless": ServerlessTransport}[runtime]()
    host = Host(apps, Storage(config.storage_path), files=files, app_stream_seconds=config.app_stream_seconds)
    plugin = PluginProcess(
        plugin_dir, host, env=env, echo=echo, python=python, transport=transport, run_plugin=not wait_for_plugin
    )
    relay = Relay(
        plugin,
        config.hook_id,
        config.settings,
        files=files,
        echo=echo,
        first_chunk_timeout=config.first_chunk_seconds,
        total_timeout=config.total_seconds,
    )
    app = transport.route_transactions(relay) if isinstance(transport, ServerlessTransport) else relay
    # First: a serverless plugin is told this address to call back.
    server = serve(app, port, send_buffer=config.send_buffer_bytes, idle_timeout=config.idle_seconds)
    files.base_url = f"http://127.0.0.1:{server.server_port}"
    if isinstance(transport, ServerlessTransport):
        transport.daemon_url = files.base_url
    try:
        plugin.start()
    except BaseException:
        server.stop(timeout=1)
        raise
    return plugin, server, apps


def banner(server, config: Config, apps, plugin: PluginProcess | None = None) -> str:
    base = f"http://127.0.0.1:{server.server_port}/e/{config.hook_id}"
    api_key = config.settings.get("api_key")
    lines = []
    if plugin is not None:
        lines += [f"Runtime: {plugin.transport.install_method}"]
        if isinstance(plugin.transport, RemoteTransport):
            lines += ["Plugin .env for remote debugging:"] + [f"  {k}={v}" for k, v in plugin.transport.env().items()]
    lines += [
        f"Base URL: {base}",
        f"API key: {api_key or 'none (the plugin declares no api_key setting)'}"
        + ("  (generated; set one in devkit.toml)" if config.key_generated else ""),
        f"Apps: {', '.join(apps.app_ids()) or '(none configured)'}",
    ]
    if plugin is not None:
        routes = declared_routes(plugin.plugin_dir)
        shown = [f"  {method} {base}{path}" for method, path in routes[:ROUTES_SHOWN]]
        more = [f"  ... and {len(routes) - ROUTES_SHOWN} more"] if len(routes) > ROUTES_SHOWN else []
        lines += ["Routes:", *shown, *more] if routes else []
    if config.try_command:  # devkit.toml's [endpoint] try
        lines += ["Try:", "  " + config.try_command.replace("{base_url}", base).replace("{api_key}", str(api_key))]
    return "\n".join(lines)


def setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # the serverless transport's own requests
