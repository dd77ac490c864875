"""Numbers as a person reads them: sizes, rates and durations."""

from __future__ import annotations

__all__ = ["human_bytes", "human_duration", "human_rate"]


def human_bytes(n: float) -> str:
    """1536 -> '1.5 KiB' (binary units, as ``--memory`` and ``--small-file`` are shown)."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover - the loop returns at TiB


def human_rate(bytes_per_second: float) -> str:
    """2_097_152.0 -> '2.0 MiB/s'."""
    return f"{human_bytes(bytes_per_second)}/s"


def human_duration(seconds: float | None) -> str:
    """75 -> '1:15', 3725 -> '1:02:05'; None (unknown) -> '-'."""
    if seconds is None:
        return "-"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02}:{secs:02}" if hours else f"{minutes}:{secs:02}"
