"""Measurement: sessions over engine workers, device telemetry, statistics, results, exports.

Never imports ``tui``.
"""
