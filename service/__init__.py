"""The FastAPI service: search API, documents, health, and the web pages."""
