"""devkit (or python -m devkit): start, serve, check, package, sign and update Dify endpoint plugins without Dify."""

from gevent import monkey

monkey.patch_all(sys=True)  # the same patching dify_plugin does on import, so both agree

import argparse
import signal
import sys
import tempfile
from pathlib import Path

import gevent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="devkit", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve a plugin's endpoints on 127.0.0.1 as the daemon would")
    serve.add_argument("dir", nargs="?", default=".", help="plugin folder or .difypkg (default: here)")
    serve.add_argument("--port", type=int, default=5002, help="port on 127.0.0.1 (0 picks a free one)")
    serve.add_argument("--config", type=Path, help="config file (default: DIR/devkit.toml)")
    serve.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an endpoint setting, e.g. --setting api_key=secret --setting app=demo-chat",
    )
    serve.add_argument("--token-delay-ms", type=float, help="pause before each demo token")
    serve.add_argument(
        "--completion-works",
        action="store_true",
        help="let the demo completion app run (real Dify fails it for plugins: a 500)",
    )
    serve.add_argument(
        "--runtime",
        choices=["local", "remote", "serverless"],
        default="local",
        help="how the daemon runs the plugin: local (stdio, self-hosted Dify, the default), "
        "serverless (HTTP, as Dify Cloud runs marketplace plugins), remote (debugging over TCP)",
    )
    serve.add_argument(
        "--wait-for-plugin",
        action="store_true",
        help="with --runtime remote: print the .env lines and wait for a plugin you start yourself",
    )

    check = commands.add_parser("check", help="report every reason Dify would refuse this plugin")
    check.add_argument("dir", nargs="?", default=".")

    package = commands.add_parser("package", help="build <name>-<version>.difypkg")
    package.add_argument("dir", nargs="?", default=".")
    package.add_argument("-o", "--output", type=Path, help="file or folder to write (default: here)")

    new = commands.add_parser(
        "new",
        help="render a new endpoint plugin from the copier template (no questions: each option has a default)",
    )
    new.add_argument("name", help="plugin name: lower-case letters, digits, _ and - (the daemon's rule)")
    new.add_argument("--into", type=Path, default=Path("."), help="parent folder (default: here)")
    new.add_argument(
        "--routes",
        default="app,webhook",
        help="comma-separated: app (POST /ask streams a Dify app's answer), webhook (POST /webhook, JSON body), "
        "form (POST /command, form-encoded body) (default: app,webhook)",
    )
    new.add_argument(
        "--auth",
        default="key",
        choices=["key", "signature", "none"],
        help="key: an API key; signature: the webhook sender's signature (sender and secret are settings); "
        "none (default: key)",
    )
    new.add_argument("--author", help="lower-case letters, digits, _ and - (default: me)")
    new.add_argument("--description", help="one line for Dify's plugin list")
    new.add_argument(
        "--template", help="git URL or path of the template repository (default: the checkout this dev kit runs from)"
    )

    update = commands.add_parser(
        "update", help="bring a plugin to a newer template: copier's 3-way merge, then the vendored endpoint_kit"
    )
    update.add_argument("dir", nargs="?", default=".", help="plugin folder, a clean git work tree (default: here)")
    update.add_argument("--to", help="template tag, branch or commit (default: the newest tag, else HEAD)")

    endpoint = commands.add_parser("endpoint", help="work with a plugin's endpoints")
    endpoint_commands = endpoint.add_subparsers(dest="action", required=True)
    add = endpoint_commands.add_parser(
        "add", help="add a route from the template's snippets: spec, handler and test, registered with its settings"
    )
    add.add_argument("name", help="lower-case letters, digits and _, e.g. order_paid")
    add.add_argument("--method", default="POST", choices=["POST", "PUT", "DELETE"], type=str.upper)
    add.add_argument("--path", required=True, help="werkzeug rule, e.g. /orders/<order_id>")
    add.add_argument(
        "--kind",
        default="webhook",
        choices=["app", "webhook", "form"],
        help="app: streams a Dify app's answer; webhook: a JSON body; form: a form-encoded body (default: webhook)",
    )
    add.add_argument("--auth", choices=["key", "signature", "none"], help="default: the plugin's own (its answers)")
    add.add_argument("--dir", type=Path, default=Path("."), help="plugin folder (default: here)")
    add.add_argument("--template", help="path of a checkout of the template repository (default: as for new)")

    keygen = commands.add_parser("keygen", help="make an RSA-4096 key pair (PKCS#1 PEM, as Dify loads them)")
    keygen.add_argument("private_key", type=Path, help="where to write the private key, e.g. me.private.pem")

    sign = commands.add_parser("sign", help="sign a .difypkg with your own private key")
    sign.add_argument("package", type=Path)
    sign.add_argument("-k", "--key", type=Path, required=True, help="private key (PKCS#1 PEM)")
    sign.add_argument("-c", "--category", default="community", choices=["community", "partner", "langgenius"])
    sign.add_argument("-o", "--output", type=Path)

    verify = commands.add_parser("verify", help="check a .difypkg's signature as the Dify daemon does")
    verify.add_argument("package", type=Path)
    verify.add_argument(
        "-k",
        "--key",
        type=Path,
        action="append",
        required=True,
        dest="keys",
        help="public key (PKCS#1 PEM); repeat for several, as in the daemon's "
        "THIRD_PARTY_SIGNATURE_VERIFICATION_PUBLIC_KEYS",
    )

    webhook = commands.add_parser("webhook", help="try a plugin against real senders' deliveries")
    webhook_commands = webhook.add_subparsers(dest="action", required=True)
    send = webhook_commands.add_parser("send", help="post a sample delivery signed as the sender signs it")
    send.add_argument("provider", choices=["github", "stripe", "slack", "discord", "shopify", "standard"])
    send.add_argument("url", help="the plugin's route, e.g. http://127.0.0.1:5002/e/local/webhook")
    send.add_argument(
        "--secret", required=True, help="the sender's signing secret (Discord: the private key's 32-byte seed, in hex)"
    )
    send.add_argument("--event", help="event type (GitHub event, Stripe type, Slack command, Discord command...)")
    send.add_argument("--data", type=Path, help="a file whose bytes replace the sample payload")

    args = parser.parse_args(argv)
    handler = {
        "serve": run_serve,
        "check": run_check,
        "package": run_package,
        "new": run_new,
        "update": run_update,
        "endpoint": run_endpoint_add,
        "keygen": run_keygen,
        "sign": run_sign,
        "verify": run_verify,
        "webhook": run_webhook_send,
    }[args.command]
    return handler(args)


def run_serve(args) -> int:
    path = Path(args.dir).resolve()
    if path.is_file() and path.suffix == ".difypkg":
        with tempfile.TemporaryDirectory(prefix="devkit-pkg-") as unpacked:  # removed when serving stops
            return _serve(args, path, Path(unpacked))
    return _serve(args, path)


def _serve(args, plugin_dir: Path, unpack_into: Path | None = None) -> int:
    """Serve a plugin folder with this interpreter, or a package as Dify installs it: unpacked, with
    nothing beside it, in an environment holding only the plugin's own dependencies."""
    from devkit import plugin_env, runtime
    from devkit.config import load_config, parse_setting
    from devkit.package import PackageError, extract
    from devkit.plugin_process import PluginDied

    runtime.setup_logging()
    if unpack_into is not None:
        try:
            plugin_dir = extract(plugin_dir, unpack_into)
        except (PackageError, OSError, ValueError) as e:
            return _fail(f"cannot unpack {args.dir}: {e}")
    if not (plugin_dir / "manifest.yaml").exists():
        return _fail(f"{plugin_dir} has no manifest.yaml; is it a Dify plugin folder?", 2)
    try:
        config = load_config(plugin_dir, args.config, dict(parse_setting(s) for s in args.setting))
    except ValueError as e:
        return _fail(str(e), 2)
    if args.token_delay_ms is not None:
        config.token_delay_ms = args.token_delay_ms
    config.completion_works = config.completion_works or args.completion_works
    if args.wait_for_plugin and args.runtime != "remote":
        return _fail("--wait-for-plugin needs --runtime remote", 2)
    stop = gevent.event.Event()  # Ctrl-C or SIGTERM, even during start-up: a clean stop, no orphan plugin
    for sig in (signal.SIGINT, signal.SIGTERM):
        gevent.signal_handler(sig, stop.set)
    python = sys.executable
    if unpack_into is not None:
        try:
            python = str(plugin_env.prepare(plugin_dir, echo=_echo))
        except (plugin_env.PluginEnvError, OSError) as e:
            return _fail(str(e))
        if stop.is_set():
            return 0
    try:
        plugin, server, apps = runtime.start(
            plugin_dir,
            config,
            args.port,
            echo=_echo,
            python=python,
            runtime=args.runtime,
            wait_for_plugin=args.wait_for_plugin,
        )
    except (PluginDied, OSError) as e:
        if unpack_into is not None and "ModuleNotFoundError" in str(e):
            e = (
                f"{e}\nThe package does not install that module: add it to the plugin's own "
                f"{plugin_env.dependency_file(plugin_dir)} (Dify would fail the same way)."
            )
        return _fail(str(e))
    _echo(runtime.banner(server, config, apps, plugin))
    stop.wait()
    server.stop(timeout=1)
    plugin.stop()
    _echo("stopped")
    return 0


def run_check(args) -> int:
    from devkit.package import check
    from devkit.plugin_template import library_drift

    problems = check(Path(args.dir).resolve())
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    drift = library_drift(Path(args.dir).resolve())  # Dify would not refuse it, but it is not the library
    if drift:
        print(f"warning: {drift}", file=sys.stderr)
    if not problems:
        print("ok: Dify would accept this plugin")
    return 1 if problems else 0


def run_package(args) -> int:
    from devkit.package import PackageError, build

    try:
        output = build(Path(args.dir).resolve(), args.output)
    except PackageError as e:
        return _fail(str(e))
    print(f"wrote {output}")
    return 0


def run_new(args) -> int:
    from devkit.plugin_template import TemplateError, new_plugin

    routes = [r.strip() for r in args.routes.split(",") if r.strip()]
    try:
        target = new_plugin(args.name, args.into, routes, args.auth, args.author, args.description, args.template)
    except (TemplateError, OSError) as e:
        return _fail(str(e))
    print(f"created {target}")
    print(f"next: cd {target} && python3.12 -m venv .venv && .venv/bin/pip install -r requirements-dev.txt")
    print("      .venv/bin/python -m pytest -q, then git add -A && git commit (devkit update needs a clean tree)")
    return 0


def run_update(args) -> int:
    from devkit.plugin_template import TemplateError, update_plugin

    try:
        conflicts = update_plugin(Path(args.dir), args.to)
    except (TemplateError, OSError) as e:
        return _fail(str(e))
    if conflicts:
        print("updated, with conflicts to resolve (between <<<<<<< before updating and >>>>>>> after updating):")
        for file in conflicts:
            print(f"  {file}")
        return 1
    print("updated: review with git diff")
    return 0


def run_endpoint_add(args) -> int:
    from devkit.endpoint_add import add_endpoint
    from devkit.plugin_template import TemplateError

    try:
        created = add_endpoint(
            args.dir.resolve(), args.name, args.method, args.path, args.kind, args.auth, args.template
        )
    except (TemplateError, OSError) as e:
        return _fail(str(e))
    print("created " + ", ".join(str(p) for p in created))
    return 0


def run_keygen(args) -> int:
    from devkit.signing import generate_key_pair

    try:
        public = generate_key_pair(args.private_key)
    except OSError as e:
        return _fail(f"cannot write the key pair: {e}")
    print(f"wrote {args.private_key} (keep it secret) and {public} (give it to Dify admins)")
    return 0


def run_sign(args) -> int:
    from devkit.signing import SignatureError, sign

    try:
        output = sign(args.package, args.key, args.category, args.output)
    except (SignatureError, OSError) as e:
        return _fail(str(e))
    print(f"wrote {output}")
    return 0


def run_verify(args) -> int:
    from devkit.signing import SignatureError, verify

    try:
        result = verify(args.package, args.keys)
    except (SignatureError, OSError) as e:
        return _fail(f"not verified: {e}")
    # decoder/zip.go Verification(): a verified package without the file counts as langgenius's (history)
    category = result["authorized_category"] or "langgenius (no verification file)"
    print(f"verified: signed {result['time']:%Y-%m-%d %H:%M:%S} UTC, authorized category {category}")
    return 0


def run_webhook_send(args) -> int:
    import httpx

    from devkit import webhooks

    try:
        body = args.data.read_bytes() if args.data else None
        if args.provider == "discord":
            print(f"discord_public_key for the plugin's settings: {webhooks.discord_public_key(args.secret)}")
        answer = webhooks.send(args.provider, args.url, args.secret, args.event, body)
    except (OSError, ValueError, httpx.HTTPError) as e:
        return _fail(str(e))
    replayed = " (replayed: this delivery already ran)" if answer.headers.get("Idempotent-Replayed") else ""
    print(f"{answer.status_code}{replayed}\n{answer.text}")
    return 0 if answer.is_success else 1


def _fail(message: str, code: int = 1) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def _echo(line: str) -> None:
    print(line, flush=True)


if __name__ == "__main__":
    sys.exit(main())
