"""Packed (unpadded) inference: sequence packing and variable-length attention for ESM and
BERT encoders.

See ``docs/gpu_fast_path.md``. Entry points live in :mod:`engines.packed.api` (torch) and
:mod:`engines.packed.pack` (planning, torch only for the tensors); this package imports neither,
so planning a workload does not load torch.
"""
