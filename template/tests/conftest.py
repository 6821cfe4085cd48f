# The dev kit's fixtures: `call` sends a raw HTTP request through the SDK's real endpoint dispatch,
# with the dev kit's demo apps answering app calls; `runtime` serves the plugin as the daemon does.
pytest_plugins = ["devkit.testing"]
