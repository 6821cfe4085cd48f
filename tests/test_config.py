import pytest

from devkit.config import load_config, parse_setting


def test_defaults_generate_a_key(tmp_path):
    config = load_config(tmp_path)
    assert config.key_generated and config.settings["api_key"].startswith("duck-")
    assert (config.hook_id, config.token_delay_ms, config.dify_base_url, config.storage_path) == (
        "duck-local", 30.0, None, None)


def test_file_and_overrides(tmp_path):
    (tmp_path / "devkit.toml").write_text(
        '[endpoint]\nhook_id = "h1"\n[endpoint.settings]\napi_key = "k"\ncors_allowed_origins = "*"\n'
        '[demo]\ntoken_delay_ms = 5\n[storage]\npath = "s.json"\n'
        '[dify]\nbase_url = "http://127.0.0.1:1/v1"\n[dify.apps]\n"a1" = "app-key"\n')
    config = load_config(tmp_path, overrides=dict([parse_setting("app=demo-chat"), parse_setting("api_key=k2")]))
    assert config.hook_id == "h1" and config.token_delay_ms == 5 and config.storage_path == tmp_path / "s.json"
    assert config.settings == {"api_key": "k2", "cors_allowed_origins": "*", "app": {"app_id": "demo-chat"}}
    assert not config.key_generated and config.dify_app_keys == {"a1": "app-key"}


def test_setting_needs_a_name_and_value():
    with pytest.raises(ValueError, match="takes name=value"):
        parse_setting("api_key")
