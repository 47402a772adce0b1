"""One feature definition, computed offline from history and kept online in Redis."""
