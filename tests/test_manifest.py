"""The package as the SDK sees it: manifest and YAMLs valid, every handler loadable."""

from pathlib import Path

import yaml
from dify_plugin.core.entities.plugin.setup import PluginConfiguration
from dify_plugin.core.utils.class_loader import load_single_subclass_from_source
from dify_plugin.entities.endpoint import EndpointProviderConfiguration
from dify_plugin.interfaces.endpoint import Endpoint

import duck
from duck import routes

ROOT = Path(__file__).resolve().parent.parent


def load(path):
    return yaml.safe_load((ROOT / path).read_text())


def test_manifest_is_valid_and_matches_the_code():
    manifest = PluginConfiguration(**load("manifest.yaml"))
    assert (manifest.name, manifest.version) == (duck.NAME, duck.VERSION)
    assert manifest.meta.runner.version == "3.12" and manifest.meta.runner.entrypoint == "main"
    assert manifest.resource.permission.app.enabled and manifest.resource.permission.endpoint.enabled
    assert manifest.resource.permission.storage.enabled
    assert (ROOT / "_assets" / manifest.icon).exists() and (ROOT / "PRIVACY.md").exists()
    for text in (manifest.label, manifest.description):
        assert all(text.model_dump()[lang] for lang in ("en_US", "zh_Hans", "ja_JP", "pt_BR"))


def test_every_endpoint_loads_with_the_sdk_loader(monkeypatch):
    monkeypatch.chdir(ROOT)  # the SDK resolves YAML and sources from the plugin folder
    for group_path in load("manifest.yaml")["plugins"]["endpoints"]:
        group = EndpointProviderConfiguration(**load(group_path))
        assert group.endpoints
        for endpoint in group.endpoints:
            source = endpoint.extra.python.source
            cls = load_single_subclass_from_source(
                module_name=Path(source).with_suffix("").as_posix().replace("/", "."),
                script_path=str(ROOT / source),
                parent_type=Endpoint,
            )
            assert issubclass(cls, Endpoint)


def test_every_route_but_the_fallback_is_declared_for_its_method():
    declared = {(rule.rule, method) for rule in routes.declared_routes().iter_rules() for method in rule.methods}
    assert ("/health", "GET") in declared
    assert not any(path.endswith(routes.CATCH_ALL) for path, _ in declared)


def test_the_plugin_lists_every_dependency_of_the_library_it_ships():
    """Listed line by line, not `-r endpoint_kit/requirements.txt`: the daemon reads requirements.txt
    itself to find the dify_plugin version (local_runtime/patch.go, getPluginSdkVersion)."""
    own = set((ROOT / "requirements.txt").read_text().splitlines())
    library = [
        line
        for line in (ROOT / "endpoint_kit/requirements.txt").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert library and not [line for line in library if line not in own]
