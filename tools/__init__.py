"""Developer tools run from the repository root (``make architecture``); nothing imports them."""
