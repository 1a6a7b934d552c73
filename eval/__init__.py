"""Retrieval evaluation: evidence-span questions and BEIR-format benchmarks."""
