"""Packaging: the daemon's layout, .difyignore honoured, refusals in plain words, signatures."""

import shutil
import subprocess
import sys
import zipfile

import httpx
import pathspec
import pytest

from devkit import package
from devkit.harness import Runtime
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return package.build(ROOT, tmp_path_factory.mktemp("pkg"))


def test_package_holds_the_plugin_and_nothing_difyignore_leaves_out(built):
    assert built.name == "duck-0.1.0.difypkg"
    names = zipfile.ZipFile(built).namelist()
    assert {
        "manifest.yaml",
        "main.py",
        "provider/duck.yaml",
        "_assets/icon.svg",
        "PRIVACY.md",
        "requirements.txt",
        "endpoints/chat_messages.py",
        "duck/invoke.py",
        "endpoint_kit/__init__.py",
    } <= set(names)
    ignore = pathspec.GitIgnoreSpec.from_lines((ROOT / ".difyignore").read_text().splitlines())
    assert not [n for n in names if ignore.match_file(n)]
    # Only the installed plugin: what main.py imports at run time and what Dify shows, nothing of the
    # dev tooling (docs, dev kit, tests, .env.example, .python-version...).
    plugin_files = ("manifest.yaml", "main.py", "requirements.txt", "README.md", "PRIVACY.md", ".difyignore")
    plugin_folders = ("_assets/", "provider/", "endpoints/", "duck/", "endpoint_kit/")
    assert [n for n in names if n not in plugin_files and not n.startswith(plugin_folders)] == []
    assert {"duck/playground/index.html", "duck/playground/app.js", "duck/playground/style.css"} <= set(names)


def test_keys_beside_the_manifest_are_never_packed(tmp_path):
    plugin = copy_of_duck(tmp_path)  # `devkit keygen author.private.pem` writes here, as the README shows
    (plugin / "author.private.pem").write_text("-----BEGIN RSA PRIVATE KEY-----\n")
    assert "author.private.pem" not in package.package_files(plugin)


def test_the_same_folder_gives_the_same_bytes(built, tmp_path):
    assert package.build(ROOT, tmp_path).read_bytes() == built.read_bytes()


def test_old_packages_are_never_packed(tmp_path):
    plugin = copy_of_duck(tmp_path)
    (plugin / "duck-0.0.9.difypkg").write_bytes(b"old")
    assert "duck-0.0.9.difypkg" not in package.package_files(plugin)


def test_the_runtime_serves_a_built_package(built):
    running = Runtime(plugin_dir=built)
    try:
        assert httpx.get(running.base_url + "/health").json()["name"] == "duck"
        answer = httpx.post(
            running.base_url + "/apps/demo-chat/chat-messages",
            headers=running.headers,
            json={"query": "from the package", "response_mode": "blocking"},
        )
        assert answer.json()["answer"] == "Hi there! You said: from the package (turn 1)"
    finally:
        running.stop()


def copy_of_duck(tmp_path):
    target = tmp_path / "plugin"
    for name in package.package_files(ROOT):
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target / name)
    return target


def replace(path, old, new):
    path.write_text(path.read_text().replace(old, new))


BREAKS = {
    "manifest missing a field": (
        lambda p: replace(p / "manifest.yaml", "version: 0.1.0\n", ""),
        "manifest.yaml is not valid: version: Field required",
    ),
    "manifest not YAML": (
        lambda p: (p / "manifest.yaml").write_text("name: [unclosed"),
        "manifest.yaml cannot be read as YAML",
    ),
    "author in capitals (the SDK allows it, the daemon does not)": (
        lambda p: replace(p / "manifest.yaml", "author: duck\n", "author: Duck\n"),
        "manifest.yaml: author 'Duck': the daemon accepts only lower-case",
    ),
    "version with two numbers": (
        lambda p: replace(p / "manifest.yaml", "version: 0.1.0\n", "version: '0.1'\n"),
        "manifest.yaml: version '0.1': the daemon's packager wants three numbers",
    ),
    "meta.version with four numbers": (
        lambda p: replace(p / "manifest.yaml", "  version: 0.0.1\n", "  version: 0.0.0.1\n"),
        "manifest.yaml: meta.version '0.0.0.1'",
    ),
    "unknown tag": (
        lambda p: replace(p / "manifest.yaml", "icon: icon.svg\n", "icon: icon.svg\ntags: [chat]\n"),
        "manifest.yaml: tags ['chat']: the daemon knows only",
    ),
    "no memory": (
        lambda p: replace(p / "manifest.yaml", "memory: 268435456", "memory: 0"),
        "manifest.yaml: resource.memory is required",
    ),
    "icon missing": (lambda p: (p / "_assets" / "icon.svg").unlink(), "the icon _assets/icon.svg is missing"),
    "privacy file missing": (lambda p: (p / "PRIVACY.md").unlink(), "the privacy policy PRIVACY.md is missing"),
    "no privacy field": (
        lambda p: replace(p / "manifest.yaml", "privacy: ./PRIVACY.md\n", ""),
        "manifest.yaml names no privacy policy",
    ),
    "no dependency file": (
        lambda p: (p / "requirements.txt").unlink(),
        "the package has neither requirements.txt nor pyproject.toml",
    ),
    "a tools-only pyproject.toml": (
        lambda p: (p / "pyproject.toml").write_text("[tool.ruff]\nline-length = 120\n"),
        "pyproject.toml has no [project] table, so uv sync would fail",
    ),
    "a pyproject.toml without dify_plugin": (
        lambda p: (p / "pyproject.toml").write_text(
            '[project]\nname = "x"\nversion = "0.1.0"\ndependencies = ["orjson==3.13.0"]\n'
        ),
        "pyproject.toml does not list dify_plugin in [project].dependencies",
    ),
    "a pyproject.toml that misses a requirement": (
        lambda p: (p / "pyproject.toml").write_text(
            '[project]\nname = "x"\nversion = "0.1.0"\ndependencies = ["dify-plugin==0.10.2"]\n'
        ),
        "but pyproject.toml does not; the daemon installs",
    ),
    "entrypoint missing": (lambda p: (p / "main.py").unlink(), "the entrypoint main.py is missing"),
    "handler missing": (
        lambda p: (p / "endpoints" / "health.py").unlink(),
        "the handler endpoints/health.py is missing",
    ),
    "endpoint spec missing": (
        lambda p: (p / "endpoints" / "run.yaml").unlink(),
        "the endpoint spec endpoints/run.yaml is missing from the package",
    ),
    "endpoint spec invalid": (
        lambda p: replace(p / "endpoints" / "run.yaml", 'method: "POST"\n', ""),
        "endpoints/run.yaml is not valid: method: Field required",
    ),
    "two Endpoint subclasses": (
        lambda p: (p / "endpoints" / "health.py").write_text(
            (p / "endpoints" / "health.py").read_text()
            + "\n\nclass Extra(Endpoint):\n    def _invoke(self, r, v, s):\n"
            "        return None\n"
        ),
        "more than one Endpoint subclass",
    ),
    "no Endpoint subclass": (lambda p: (p / "endpoints" / "health.py").write_text("x = 1\n"), "endpoints/health.py: "),
    "left out by .difyignore": (lambda p: (p / ".difyignore").write_text("_assets/\n"), "(left out by .difyignore)"),
    "over the size limit": (
        lambda p: (p / "_assets" / "big.bin").write_bytes(b"\0" * (package.MAX_PACKAGE_BYTES + 1)),
        "the daemon accepts at most 52428800",
    ),
}


@pytest.mark.parametrize("name", BREAKS)
def test_refusals(tmp_path, name):
    plugin = copy_of_duck(tmp_path)
    breaker, message = BREAKS[name]
    breaker(plugin)
    problems = package.check(plugin)
    assert any(message in p for p in problems), problems


def test_a_refused_plugin_is_not_packaged_and_check_says_why(tmp_path):
    plugin = copy_of_duck(tmp_path)
    (plugin / "endpoints" / "run.yaml").unlink()
    with pytest.raises(package.PackageError, match="cannot package this plugin"):
        package.build(plugin, tmp_path)
    assert not list(tmp_path.glob("*.difypkg"))
    run = subprocess.run(
        [sys.executable, "-m", "devkit", "check", str(plugin)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 1
    assert run.stderr == "error: the endpoint spec endpoints/run.yaml is missing from the package\n"


def test_check_accepts_duck():
    assert package.check(ROOT) == []


def test_a_pyproject_that_is_the_plugins_own_dependency_file_is_accepted(tmp_path):
    plugin = copy_of_duck(tmp_path)
    requirements = [line for line in (plugin / "requirements.txt").read_text().splitlines() if line]
    (plugin / "pyproject.toml").write_text(
        f'[project]\nname = "duck"\nversion = "0.1.0"\ndependencies = {requirements!r}\n'
    )
    assert package.check(plugin) == []


@pytest.mark.parametrize(
    "entry, message",
    [
        ("endpoints/", "directory entry 'endpoints/' (as `zip -r` writes)"),
        ("../escaped.txt", "illegal file path in plugin package: '../escaped.txt'"),
    ],
)
def test_serving_refuses_a_package_the_daemon_cannot_install(built, tmp_path, entry, message):
    broken = tmp_path / "broken.difypkg"
    with zipfile.ZipFile(built) as source, zipfile.ZipFile(broken, "w") as target:
        for info in source.infolist():
            target.writestr(info, source.read(info))
        target.writestr(entry, b"" if entry.endswith("/") else b"x")
    with pytest.raises(package.PackageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        package.extract(broken, tmp_path / "unpacked")
    assert not (tmp_path / "escaped.txt").exists()
    run = subprocess.run(
        [sys.executable, "-m", "devkit", "serve", str(broken), "--port", "0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 1 and f"cannot unpack {broken}: " in run.stderr and message in run.stderr
