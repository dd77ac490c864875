"""The errors of remote sources (``s3://`` buckets, HTTP URLs), and what each means for an item.

Every class is also a :class:`~bulkpin.client.DecooError` of the kind whose
handling it needs, so the client's one item-tier classifier
(:func:`bulkpin.client.classify_item`) decides their fate with no new rules:
a configuration error stops the run, an object error fails that item, an
unavailable source is tried again later.

::

    DecooError
    └── SourceError                 a source could not be read (:mod:`.errors`: the one class)
        ├── SourceConfigError       (+ConfigurationError) a bad location, missing or refused
        │   │                       credentials, no such bucket: every item would fail alike
        │   └── LocationError       an ``s3://`` location or URL that cannot be used
        ├── ObjectError             (+LocalFileError) this one object cannot be read
        │   ├── ObjectNotFound      404 / NoSuchKey: gone since it was listed
        │   ├── ObjectDenied        401 / 403 on this object alone
        │   └── ObjectChanged       (+FileChangedError) not the object that was listed,
        │                           or changed while it was read
        └── SourceUnavailable       (+TransportError) 5xx, SlowDown, resets or timeouts after the
                                    source's own retries; a body that broke and could not resume

Sources convert their library's errors to these once, where they call it
(:mod:`.s3` for botocore, :mod:`.http` for aiohttp). Every instance is
``final``: the source has already retried, so the upload's request tier must
not retry it again.
"""

from __future__ import annotations

from ..client.errors import (
    ConfigurationError,
    FileChangedError,
    LocalFileError,
    TransportError,
)
from .errors import SourceError

__all__ = [
    "LocationError",
    "ObjectChanged",
    "ObjectDenied",
    "ObjectError",
    "ObjectNotFound",
    "SourceConfigError",
    "SourceError",
    "SourceUnavailable",
]


class SourceConfigError(SourceError, ConfigurationError):
    """A location, credential or bucket problem that no item of the source can get past."""


class LocationError(SourceConfigError, ValueError):
    """An ``s3://`` location or an HTTP URL that cannot be used as given (a usage error)."""


class ObjectError(SourceError, LocalFileError):
    """This object cannot be read; other objects of the source may be fine."""


class ObjectNotFound(ObjectError):
    """The object is gone (404, NoSuchKey): deleted since it was listed."""


class ObjectDenied(ObjectError):
    """Reading this object was refused (401, 403) though the source itself is readable."""


class ObjectChanged(ObjectError, FileChangedError):
    """The object is not the one that was listed, or it changed while it was read.

    Raised before the reader reports the end of the object, so an upload
    consuming it abandons the request before its ``cid`` part: nothing is ever
    pinned under a CID that does not describe the listed object. The caller
    lists the object again (and re-reads it) or reports it.
    """


class SourceUnavailable(SourceError, TransportError):
    """The source did not answer usably after its retries, or a broken body could not resume.

    ``resumable`` is False when the body broke part-way and the source cannot
    continue it (no ``Range`` support, no validator): the caller must read the
    object again from its first byte.
    """

    def __init__(self, message: str, *, url: str | None = None, resumable: bool = True) -> None:
        super().__init__(message, url=url)
        self.request_sent = False
        self.resumable = resumable
