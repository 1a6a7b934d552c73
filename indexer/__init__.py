"""Passages, embeddings, index build, and the retrieval core every caller shares."""
