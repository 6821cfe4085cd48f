import logging

from dify_plugin import DifyPluginEnv, Plugin
from dify_plugin.config.logger_format import plugin_logger_handler

# endpoint_kit's one log line per request travels the protocol's log channel: stdout is the protocol.
_kit_logger = logging.getLogger("endpoint_kit")
_kit_logger.setLevel(logging.INFO)
_kit_logger.addHandler(plugin_logger_handler)

plugin = Plugin(DifyPluginEnv())

if __name__ == "__main__":
    plugin.run()
