"""python -m devkit serve [DIR] [--port N]: run an endpoint plugin locally as the Dify daemon would."""

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import gevent  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devkit", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve a plugin's endpoints on 127.0.0.1")
    serve.add_argument("dir", nargs="?", default=".", help="the plugin folder (default: here)")
    serve.add_argument("--port", type=int, default=5002, help="port on 127.0.0.1 (0 picks a free one)")
    serve.add_argument("--config", type=Path, help="config file (default: DIR/devkit.toml)")
    serve.add_argument("--setting", action="append", default=[], metavar="NAME=VALUE",
                       help="an endpoint setting, e.g. --setting api_key=secret --setting app=demo-chat")
    serve.add_argument("--token-delay-ms", type=float, help="pause before each demo token")
    args = parser.parse_args(argv)
    return run_serve(args)


def run_serve(args) -> int:
    from devkit import runtime
    from devkit.config import load_config, parse_setting
    from devkit.plugin_process import PluginDied

    runtime.setup_logging()
    plugin_dir = Path(args.dir).resolve()
    if not (plugin_dir / "manifest.yaml").exists():
        print(f"error: {plugin_dir} has no manifest.yaml; is it a Dify plugin folder?", file=sys.stderr)
        return 2
    try:
        config = load_config(plugin_dir, args.config, dict(parse_setting(s) for s in args.setting))
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.token_delay_ms is not None:
        config.token_delay_ms = args.token_delay_ms
    try:
        plugin, server, apps = runtime.start(plugin_dir, config, args.port, echo=_echo)
    except (PluginDied, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    _echo(runtime.banner(server, config, apps))
    stop = gevent.event.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        gevent.signal_handler(sig, stop.set)
    stop.wait()
    server.stop(timeout=1)
    plugin.stop()
    _echo("stopped")
    return 0


def _echo(line: str) -> None:
    print(line, flush=True)


if __name__ == "__main__":
    sys.exit(main())
