"""The live memory panel: worker RSS, allocator peaks, and device memory used against its total."""

from __future__ import annotations

from rich.text import Text

from engines.spec import RunSpec
from profilers.snapshot import Snapshot
from profilers.telemetry.samples import TelemetrySample
from tui.widgets.fitted import FittedText
from tui.widgets.units import NA, meter, ratio, size, size_pair


def _sum(values: list[int | None]) -> int | None:
    present = [v for v in values if v is not None]
    return sum(present) if present else None


def gpu_indices(spec: RunSpec | None) -> list[int]:
    """NVML indices the run uses (``cuda`` alone is GPU 0)."""
    if spec is None:
        return []
    found = set()
    for device in spec.worker_devices():
        family, _, number = device.partition(":")
        if family == "cuda":
            found.add(int(number or 0))
    return sorted(found)


def device_memory(
    spec: RunSpec | None, telemetry: TelemetrySample | None
) -> list[tuple[str, int | None, int | None]]:
    """(label, used, total) for each device memory the run lives in."""
    if telemetry is None:
        return []
    wanted = gpu_indices(spec)
    gpus = [g for g in telemetry.gpus if not wanted or g.index in wanted]
    if gpus:
        return [(f"GPU{g.index}", g.memory_used_bytes, g.memory_total_bytes) for g in gpus]
    neuron = telemetry.neuron
    if neuron is not None and neuron.runtime_device_memory_bytes is not None:
        total = None
        if neuron.device_memory_bytes is not None:
            total = neuron.device_memory_bytes * (neuron.device_count or 1)
        return [("Neuron", neuron.runtime_device_memory_bytes, total)]
    host = telemetry.host
    if host is not None:
        return [("host", host.memory_used_bytes, host.memory_total_bytes)]
    return []


def memory_text(
    snapshot: Snapshot | None,
    spec: RunSpec | None,
    width: int,
    telemetry: TelemetrySample | None = None,
) -> Text:
    """RSS, allocator peaks and the device memory bar. ``telemetry`` is the sample the devices
    panel shows (so both panels agree); without it, the snapshot's own."""
    text = Text()
    workers = snapshot.workers if snapshot else ()
    peak_rss = _sum([w.rss_bytes for w in workers])
    telemetry = telemetry or (snapshot.telemetry if snapshot else None)
    ended = bool(workers) and all(w.status is not None for w in workers)
    host = snapshot.telemetry.host if snapshot and snapshot.telemetry else None
    now_rss = _sum(list(host.process_rss_bytes.values())) if host and not ended else None
    narrow = width < 44
    label = 6 if narrow else 10
    text.append(f"{'RSS':<{label}}", style="bold")
    if ended:  # no process is left to measure: never "now 0 B"
        text.append(f"peak {size(peak_rss)} · workers ended\n")
    else:
        text.append(f"now {size(now_rss)} · peak {size(peak_rss)}\n")
    allocated = _sum([w.device_allocated_bytes for w in workers])
    reserved = _sum([w.device_reserved_bytes for w in workers])
    text.append(f"{'alloc' if narrow else 'allocator':<{label}}", style="bold")
    if allocated is None and reserved is None:
        text.append(NA + " (no device allocator)" if snapshot else NA, style="dim")
    else:
        text.append(f"peak {size(allocated)} · {'res.' if narrow else 'reserved'} {size(reserved)}")
    rows = device_memory(spec, telemetry)
    if not rows:
        text.append(f"\n{'device':<{label}}", style="bold")
        text.append(NA, style="dim")
    for name, used, total in rows:
        figure = size_pair(used, total)
        bar_width = max(4, width - label - 4 - len(figure))
        text.append("\n")
        text.append_text(meter(f"{name:<{label - 2}}", ratio(used, total), bar_width, figure))
    return text


class MemoryPanel(FittedText):
    """Memory. Call :meth:`show` with the latest snapshot and the run's spec."""

    fallback_width = 40

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.snapshot: Snapshot | None = None
        self.spec: RunSpec | None = None
        self.telemetry: TelemetrySample | None = None

    def on_mount(self) -> None:
        self.border_title = "memory"

    def show(
        self,
        snapshot: Snapshot | None,
        spec: RunSpec | None,
        telemetry: TelemetrySample | None = None,
    ) -> None:
        self.snapshot, self.spec, self.telemetry = snapshot, spec, telemetry
        self.refresh(layout=True)

    def text(self, width: int) -> Text:
        return memory_text(self.snapshot, self.spec, width, self.telemetry)
