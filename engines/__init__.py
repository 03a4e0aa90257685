"""What runs a model: catalog, tokenizers, workloads, batching, optimizations, backends, workers.

Never imports ``profilers`` or ``tui``.
"""
