"""Benchmark reports from saved Results: the tables pLM papers print.

Pure logic (no printing), in three steps:

- ``loading``: a folder of Results (and a sweep's side files); unreadable files are listed with
  the reason, never fatal;
- ``rows`` and ``analysis``: each Result as a ``Row`` of the figures the report uses, grouped per
  model: real-time (batch 1) and throughput-optimized settings, the best configuration for
  throughput, latency and cost, the Pareto front of latency against throughput (and memory), and
  speed-ups against the fp32 baseline with the quality drift beside them; ``build`` puts them
  together with the setup they were measured on;
- ``render``: Markdown, CSV or JSON.

Every figure in the tables is read from a Result as it was saved; nothing is re-measured or
estimated here.
"""

from profilers.report.analysis import (
    ModelReport,
    SettingPair,
    Speedup,
    batch_series,
    best,
    dominates,
    find_baseline,
    model_report,
    pareto_front,
    setting_pairs,
    speedups,
)
from profilers.report.build import Report, build_report, setup_rows
from profilers.report.loading import LoadedResults, load_folder, read_result
from profilers.report.render import REPORT_FORMATS, render_report, to_csv, to_markdown
from profilers.report.rows import Row, config_key, quality_cosine_min, row_of

__all__ = [
    "REPORT_FORMATS",
    "LoadedResults",
    "ModelReport",
    "Report",
    "Row",
    "SettingPair",
    "Speedup",
    "batch_series",
    "best",
    "build_report",
    "config_key",
    "dominates",
    "find_baseline",
    "load_folder",
    "model_report",
    "pareto_front",
    "quality_cosine_min",
    "read_result",
    "render_report",
    "row_of",
    "setting_pairs",
    "setup_rows",
    "speedups",
    "to_csv",
    "to_markdown",
]
