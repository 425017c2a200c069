"""Case packs shipped with the engine that bring their own models (no PyTorch, no exporter).

Each module exposes a `load()` named by an entry point of the `conformance.cases` group.
"""
