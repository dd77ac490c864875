"""The movers: what takes one item to the service.

- :mod:`.pin_file`: bytes, by ``pinFile`` (a local file, an ``s3://`` object, a URL);
- :mod:`.pin_by_hash`: references, by ``pinByHash`` (``bulkpin pin``'s CIDs).

A mover takes an item to its outcome (``handle(item)``) and knows nothing of
where the item was found; the run around it (``push``'s stages) hands it work.
"""

from __future__ import annotations

# The run's package first: its stages import the movers, so loading it here,
# before them, makes the import order the same whichever package is imported first.
from .. import push as _push  # noqa: F401
from .pin_file import UPLOAD_BUFFER, Uploader, WorkItem

__all__ = ["UPLOAD_BUFFER", "Uploader", "WorkItem"]
