"""The web chat: templates, static files and page routes."""
