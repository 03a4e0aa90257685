"""Intel Gaudi (HPU) backend: PyTorch through Intel's bridge, ``habana_frameworks.torch``.

Written from Intel's documentation and the public bridge source, and tested without hardware
against a stand-in for ``habana_frameworks``; ``docs/gaudi.md`` lists what has not run on a Gaudi.
Nothing here imports the bridge at import time: :mod:`.bridge` does, in the worker, after the
execution mode is fixed in the environment.

- :mod:`.bridge`: the execution mode's environment, importing the bridge, finding Gaudi devices.
- :mod:`.checks`: what cannot run on Gaudi, said in preflight and in the worker.
- :mod:`.device`: the timing loop's view of a Gaudi: mark_step, synchronise, allocator statistics.
- :mod:`.graphs`: HPU graphs, the ``hpu_backend`` for torch.compile, graph compilations counted.
- :mod:`.worker`: the few hooks the worker loop calls on a Gaudi.
"""
