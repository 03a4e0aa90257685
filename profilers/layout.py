"""The names of the files plmprof writes into a sweep folder beside its Result JSON files (one
home, read by the sweep's store and by reports)."""

SWEEP_FILE = "sweep.json"
SWEEP_CSV = "sweep.csv"
REPORT_FILE = "report.md"
MAX_BATCH_FILE = "max-batch.json"
PROBES_FOLDER = "probes"
SWEEP_KIND = "plmprof-sweep"
MAX_BATCH_KIND = "plmprof-max-batch"
