import pytest

from devkit.config import load_config, parse_setting
from tests.conftest import ROOT

BARE = ROOT / "tests" / "bare_plugin"


def test_defaults_generate_a_key_and_fill_declared_defaults(tmp_path):
    config = load_config(ROOT, tmp_path / "none.toml")
    assert config.key_generated and len(config.settings["api_key"]) == 24  # 18 random bytes, no prefix
    assert (config.hook_id, config.token_delay_ms, config.dify_base_url, config.storage_path) == (
        "local",
        30.0,
        None,
        None,
    )
    # Dify's endpoint form starts from each declared default (endpoint-modal.tsx, extractDefaultValues).
    assert config.settings["max_body_bytes"] == "1048576" and config.settings["openai_memory"] == "auto"
    assert "app" not in config.settings


def test_duck_says_its_own_defaults_in_its_devkit_toml():
    """The dev kit knows nothing of Duck: Duck's hook id, key prefix and webhook demo app are Duck's config."""
    config = load_config(ROOT)
    assert (config.hook_id, config.settings["api_key"][:5]) == ("duck-local", "duck-")
    assert [app.app_id for app in config.demo_apps] == ["demo-webhook"]
    assert config.settings["openai_input_variable"] == "text" and "demo-webhook" in config.settings["openai_models"]


def test_file_and_overrides(tmp_path):
    (tmp_path / "devkit.toml").write_text(
        '[endpoint]\nhook_id = "h1"\n[endpoint.settings]\napi_key = "k"\ncors_allowed_origins = "*"\n'
        '[demo]\ntoken_delay_ms = 5\n[storage]\npath = "s.json"\n'
        '[dify]\nbase_url = "http://127.0.0.1:1/v1"\n[dify.apps]\n"a1" = "app-key"\n'
    )
    config = load_config(
        ROOT, tmp_path / "devkit.toml", overrides=dict([parse_setting("app=demo-chat"), parse_setting("api_key=k2")])
    )
    assert config.hook_id == "h1" and config.token_delay_ms == 5 and config.storage_path == ROOT / "s.json"
    assert config.settings["api_key"] == "k2" and config.settings["cors_allowed_origins"] == "*"
    assert not config.key_generated and config.dify_app_keys == {"a1": "app-key"}


def test_an_app_selector_arrives_in_difys_shape(tmp_path):
    """model-modal/Form.tsx saves {...AppSelector's value, type}; the daemon passes it on unchanged."""
    expected = {"app_id": "demo-chat", "inputs": {}, "files": [], "type": "app-selector"}
    assert load_config(ROOT, tmp_path / "none.toml", {"app": "demo-chat"}).settings["app"] == expected
    (tmp_path / "devkit.toml").write_text('[endpoint.settings]\napp = { app_id = "demo-chat" }\n')
    assert load_config(ROOT, tmp_path / "devkit.toml").settings["app"] == expected


def test_an_undeclared_setting_is_refused_naming_the_declared_ones(tmp_path):
    with pytest.raises(ValueError, match=r"declares no setting named apikey; its settings are: api_key, app, "):
        load_config(ROOT, tmp_path / "none.toml", {"apikey": "k"})
    with pytest.raises(ValueError, match=r"its settings are: target$"):
        load_config(BARE, tmp_path / "none.toml", {"api_key": "k"})


def test_a_plugin_without_an_api_key_setting_gets_none(tmp_path):
    config = load_config(BARE, tmp_path / "none.toml")
    assert config.settings == {} and not config.key_generated


def test_dify_behaviour_options(tmp_path):
    config = tmp_path / "devkit.toml"
    assert (load_config(ROOT, config).completion_works, load_config(ROOT, config).app_stream_seconds) == (False, 240.0)
    config.write_text("[demo]\ncompletion_works = true\n[limits]\napp_stream_seconds = 1.5\n")
    assert (load_config(ROOT, config).completion_works, load_config(ROOT, config).app_stream_seconds) == (True, 1.5)


def test_setting_needs_a_name_and_value():
    with pytest.raises(ValueError, match="takes name=value"):
        parse_setting("api_key")
