"""The movers: what takes one item's bytes to the service.

:mod:`.pin_file` is the ``pinFile`` mover, whatever the bytes are read from: a
local file through :mod:`.local_files`, an ``s3://`` object or URL through
:mod:`bulkpin.push.remote`, each holding the run's one mover rather than
inheriting and re-implementing it, and each taking its items through the one
item loop, :mod:`.attempts`. The run around them (``push``'s stages) hands
them work. :mod:`.pin_by_hash` is the ``pinByHash`` mover of references
(``bulkpin pin``'s CIDs), on the same item tier of retries.
"""

from __future__ import annotations

# The runs' packages first: their stages import the movers' modules, so loading
# them here, before those, makes the import order the same whichever package is
# imported first (a mover imported first would otherwise meet itself half-built).
from .. import migrate as _migrate  # noqa: F401
from .. import push as _push  # noqa: F401
from .attempts import Attempts, take
from .local_files import UPLOAD_BUFFER, LocalFiles, WorkItem
from .pin_by_hash import Requester
from .pin_file import MAX_CHANGED_RETRIES, PinFileMover

__all__ = ["MAX_CHANGED_RETRIES", "UPLOAD_BUFFER", "Attempts", "LocalFiles", "PinFileMover",
           "Requester", "WorkItem", "take"]
