import logging

from dify_plugin import DifyPluginEnv, Plugin
from dify_plugin.config.logger_format import plugin_logger_handler

# Duck's one-line-per-request logs travel the protocol's log channel, never plain stdout.
_duck_logger = logging.getLogger("duck")
_duck_logger.setLevel(logging.INFO)
_duck_logger.addHandler(plugin_logger_handler)

plugin = Plugin(DifyPluginEnv(MAX_REQUEST_TIMEOUT=600))

if __name__ == "__main__":
    plugin.run()
