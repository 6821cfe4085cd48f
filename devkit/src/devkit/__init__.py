"""Duck's dev kit: run an endpoint plugin locally the way the Dify daemon does."""
