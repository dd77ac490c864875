"""Everything a push can be told, with its defaults, in one place."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..core.concurrency import DEFAULT_CEILING
from ..core.options import MoveOptions
from ..fs import Selection
from ..journal import WHOLE_FILE_FLOOR
from ..unixfs import DEFAULT_PROFILE, CidProfile
from ..unixfs.tree import DEFAULT_HASH_WORKERS

#: Uploads in flight for a pipeline that cannot adapt (the remote push) when the
#: user left ``--concurrency auto``: the best of 1, 4, 16, 64 on loopback in
#: workload 4 of the benchmarks. A file push adapts (:mod:`.concurrency`).
DEFAULT_CONCURRENCY = 64
#: Files up to this size are hashed before they are sent: their CID is known
#: first, so duplicates are skipped. Larger files are hashed while they stream,
#: reading every byte once.
DEFAULT_SMALL_FILE = 1024 * 1024
#: Bytes of upload buffers (the client's read-ahead) held at once, across all workers.
DEFAULT_MEMORY = 64 * 1024 * 1024
#: Seconds uploads in flight may take to finish once a stop is asked.
DEFAULT_GRACE = 20.0


@dataclass(frozen=True, slots=True)
class PushOptions(MoveOptions):
    """How a push runs. The CLI builds one from its flags; library users build their own.

    What every run is told is :class:`~.move_options.MoveOptions`'s.
    """

    profile: CidProfile = DEFAULT_PROFILE
    selection: Selection = field(default_factory=Selection)
    #: Dot-files are archived (as rclone and aws s3 sync do); False leaves them
    #: out, each reported as skipped.
    hidden: bool = True
    follow_symlinks: bool = False
    #: Uploads in flight; None ("auto"): decided as the run goes, up to ``max_concurrency``.
    concurrency: int | None = None
    #: The most uploads in flight ``auto`` may reach (bounds workers, connections, buffers).
    max_concurrency: int = DEFAULT_CEILING
    hash_workers: int = DEFAULT_HASH_WORKERS
    #: file bytes sent per second (None: unlimited)
    bwlimit: int | None = None
    small_file: int = DEFAULT_SMALL_FILE
    memory: int = DEFAULT_MEMORY
    #: after a stop is asked, how long uploads in flight may take to finish
    #: (Kubernetes sends SIGKILL 30 s after SIGTERM by default: leave time to commit)
    grace: float = DEFAULT_GRACE
    endpoint: str | None = None

    @property
    def whole_file_max(self) -> int:
        """Files (and objects) up to this size are read whole and hashed before sending.

        ``--small-file``, but never under 64 KiB: the journal keeps no size
        index for files that small (see ``_schema.WHOLE_FILE_FLOOR``), so one
        streamed could not be looked up as a possible copy.
        """
        return max(self.small_file, WHOLE_FILE_FLOOR)

    @property
    def adaptive(self) -> bool:
        """Whether the number of uploads in flight is decided as the run goes."""
        return self.concurrency is None

    @property
    def pool_size(self) -> int:
        """The most uploads that may ever be in flight (sizes the connection pool)."""
        return self.concurrency if self.concurrency is not None else self.max_concurrency

    @property
    def fixed_concurrency(self) -> int:
        """Uploads in flight for a pipeline that does not adapt."""
        return self.concurrency if self.concurrency is not None else DEFAULT_CONCURRENCY
