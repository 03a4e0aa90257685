"""What runs a model: catalog, tokenizers, workloads, batching, optimizations, backends, workers.

Never imports ``profilers`` or ``tui``. Importing it switches the Hugging Face libraries offline
(``engines.offline``) before anything can import them.
"""

from engines.offline import go_offline

go_offline()
