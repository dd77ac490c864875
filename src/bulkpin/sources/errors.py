"""The errors the sources add to the client's hierarchy (:mod:`bulkpin.client.errors`).

A source talks HTTP through the client's boundary, so transport failures, 5xx,
429 and unreadable answers arrive as the client's own classes (retried by the one
classifier, :func:`bulkpin.client.classify`). Three cases need a name of their own
(what a remote source's objects add below :class:`SourceError` is drawn in
:mod:`.remote_errors`)::

    DecooError
    ├── ConfigurationError
    │   └── SourceSpecError            a --from spec or token option that cannot be used
    │                                  (also a ValueError: a usage error, found before
    │                                  anything is sent)
    ├── HTTPStatusError
    │   └── AuthenticationError
    │       └── SourceAuthenticationError  the *source* refused its token (401/403)
    └── SourceError                    the source said its listing failed, or cannot be
                                       paged; a remote object or location could not be read

An exception raised while iterating a source always concerns that source; the
caller ends the run resumably (the journal remembers what was already done).
"""

from __future__ import annotations

from ..client.errors import AuthenticationError, ConfigurationError, DecooError

__all__ = ["SourceAuthenticationError", "SourceError", "SourceSpecError"]


class SourceSpecError(ConfigurationError, ValueError):
    """A ``--from`` spec, or a ``--from-token-*`` option, that cannot be used.

    Raised by :func:`bulkpin.sources.open_source` before any request is made.
    """


class SourceAuthenticationError(AuthenticationError):
    """The source (not the Decoo destination) refused the token it was given.

    Never retried: the same token will be refused again. Its message names the
    source and where the token came from, never the token.
    """


class SourceError(DecooError):
    """A source could not be read: its listing failed or cannot be paged to the end, or
    (:mod:`.remote_errors`) a remote object or location; ``url`` names it, if one does."""

    def __init__(self, message: str, *, url: str | None = None,
                 operation: str | None = None) -> None:
        super().__init__(message, operation=operation)
        self.url = url
        # The source retried already (its own policy, botocore's retry mode): the
        # request tier must not retry it again.
        self.final = True
