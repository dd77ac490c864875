"""Where the items of a push come from."""
