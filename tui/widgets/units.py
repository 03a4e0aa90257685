"""How numbers read on screen: units, bars coloured by level, fixed widths for steady columns.

Every formatter takes ``None`` for "not measured" and shows it as ``–``, never as a zero.
"""

from __future__ import annotations

from rich.text import Text

from profilers.export import MISSING

NA = MISSING
# Below SHORT_ROWS rows the screen carries the class SHORT (PlmprofApp.VERTICAL_BREAKPOINTS): the
# Live tab's compact layout, where the key figures, devices and workers fit 80x24 unscrolled.
SHORT = "-short"
SHORT_ROWS = 38
_EIGHTHS = " ▏▎▍▌▋▊▉"


def ms(seconds: float | None) -> str:
    """Seconds as milliseconds with three significant figures (``12.3 ms``, ``1,204 ms``)."""
    if seconds is None:
        return NA
    value = seconds * 1000
    if value >= 100:
        return f"{value:,.0f} ms"
    if value >= 10:
        return f"{value:.1f} ms"
    return f"{value:.2f} ms"


def number(value: float | None, unit: str = "") -> str:
    """A rate or count with thousands separators, and below 1 three significant figures
    (``0.0487``, not ``0.05`` or ``0.0``): a small non-zero value never reads as zero."""
    if value is None:
        return NA
    if value == 0 or abs(value) >= 99.95:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    elif abs(value) >= 1:
        text = f"{value:.2f}"
    else:
        text = f"{value:.3g}"
    return f"{text} {unit}".rstrip()


def percent(fraction: float | None) -> str:
    """A fraction 0..1 as a percentage."""
    if fraction is None:
        return NA
    value = fraction * 100
    return f"{value:.1f} %" if value < 10 else f"{value:.0f} %"


def size(num_bytes: float | None) -> str:
    """Bytes in decimal units (MB = 10⁶ bytes, as the Result's memory section)."""
    if num_bytes is None:
        return NA
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(num_bytes) >= scale:
            value = num_bytes / scale
            return f"{value:.1f} {unit}" if value < 100 else f"{value:,.0f} {unit}"
    return f"{num_bytes:.0f} B"


def size_pair(used: float | None, total: float | None) -> str:
    """``12.0/32.0 GB``: used and total in the total's unit."""
    if used is None or total is None:
        return f"{size(used)} / {size(total)}"
    unit = size(total).split()[-1]
    scale = {"TB": 1e12, "GB": 1e9, "MB": 1e6, "kB": 1e3, "B": 1.0}[unit]
    return f"{used / scale:.1f}/{total / scale:.1f} {unit}"


def duration(seconds: float | None) -> str:
    """A span of time: ``8.2 s``, ``3 min 05 s``, ``1 h 02 min``."""
    if seconds is None:
        return NA
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def level_style(fraction: float | None) -> str:
    """Green under 50 %, yellow under 80 %, red above: nvitop's reading of a meter."""
    if fraction is None:
        return "dim"
    if fraction < 0.5:
        return "green"
    if fraction < 0.8:
        return "yellow"
    return "red"


def bar(fraction: float | None, width: int, style: str | None = None) -> Text:
    """A horizontal meter ``width`` cells wide, filled in eighths of a cell.

    ``None`` (not measured) draws an empty dim track. The fill takes ``style`` or the level colour.
    """
    width = max(1, width)
    if fraction is None:
        return Text("·" * width, style="dim")
    fraction = min(1.0, max(0.0, fraction))
    eighths = round(fraction * width * 8)
    full, part = divmod(eighths, 8)
    filled = "█" * full + (_EIGHTHS[part] if part and full < width else "")
    text = Text(filled, style=style or level_style(fraction))
    text.append(" " * (width - len(filled)), style="on grey15")
    return text


BUSY = "cyan"  # utilisation: busy is what a profiled device should be, so no alarm colours


def meter(
    label: str, fraction: float | None, width: int, value: str, style: str | None = None
) -> Text:
    """``label ▕███▌   ▏ value``: a labelled bar with its figure after it; the bar takes
    ``style`` or, by default, the level colour (memory, power: full is a warning)."""
    text = Text(label, style="bold")
    text.append(" ▕", style="dim")
    text.append_text(bar(fraction, width, style))
    text.append("▏ ", style="dim")
    text.append(value)
    return text


def ratio(used: float | None, total: float | None) -> float | None:
    if used is None or total is None or total <= 0:
        return None
    return used / total
