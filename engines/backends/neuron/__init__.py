"""AWS Neuron (Inferentia2, Trainium) backend: bucketed ``torch_neuronx.trace`` with a disk cache.

Written from AWS's Neuron documentation (torch-neuronx tracing, neuronx-cc flags) and tested
without hardware against a stand-in for ``torch_neuronx``; ``docs/neuron.md`` lists what has not
run on a device.
Nothing here imports ``torch_neuronx`` at import time: :mod:`.sdk` does, when asked.

- :mod:`.sdk`: importing ``torch_neuronx``, finding ``/dev/neuron*``, counting cores.
- :mod:`.checks`: what cannot run on Neuron, said in preflight and in the worker.
- :mod:`.compiler_args`: the ``neuronx-cc`` flags a RunSpec compiles with.
- :mod:`.buckets`: which (rows, tokens) shapes are compiled.
- :mod:`.cache`: compiled artefacts on disk, keyed by everything that changes them.
- :mod:`.gelu`: the ESM erf-gelu swap that avoids "Unsupported operator: erf".
- :mod:`.tracer`: compiling one bucket, or loading it from the cache.
- :mod:`.model`: one module that dispatches each call to the bucket traced for its shape.
- :mod:`.engine`: :func:`~.engine.compile_buckets`, the entry point.
- :mod:`.worker`: the few hooks the worker loop calls on a Neuron device.
- :mod:`.precompile`: ``plmprof compile``, compiling buckets ahead of a run.
"""
