"""The names of the files plmprof writes into a sweep folder beside its Result JSON files, and the
states a point has in ``sweep.json`` before (or instead of) a Result's status (one home, read by
the sweep's store and by reports)."""

SWEEP_FILE = "sweep.json"
SWEEP_CSV = "sweep.csv"
REPORT_FILE = "report.md"
MAX_BATCH_FILE = "max-batch.json"
PROBES_FOLDER = "probes"
SWEEP_KIND = "plmprof-sweep"
MAX_BATCH_KIND = "plmprof-max-batch"
PENDING = "pending"
SKIPPED = "skipped"
