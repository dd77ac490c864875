"""The bulk pipeline behind ``bulkpin push``; :func:`push` is its library entry point."""

from .events import FileEvent, NoticeEvent, ProgressEvent, PushEvent
from .journal import Journal, JournalError, JournalLocked
from .options import PushOptions
from .pipeline import PushSummary, default_journal_path, push
from .selection import Selection, SelectionError, Shard
from .uploader import RunAborted

__all__ = [
    "FileEvent",
    "Journal",
    "JournalError",
    "JournalLocked",
    "NoticeEvent",
    "ProgressEvent",
    "PushEvent",
    "PushOptions",
    "PushSummary",
    "RunAborted",
    "Selection",
    "SelectionError",
    "Shard",
    "default_journal_path",
    "push",
]
