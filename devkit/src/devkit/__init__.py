"""The dev kit: serve, check, package and sign Dify endpoint plugins locally, the way the Dify daemon runs them."""
