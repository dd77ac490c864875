"""What is started and stopped by hand or by ``with``: the embedded service, the test proxy, moto.

Each says how it starts and stops; ``with thing as started:`` is this one
shape, written once.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from types import TracebackType
from typing import Self

__all__ = ["StartStop"]


class StartStop(ABC):
    """``start()`` returning the started thing, ``stop()`` idempotent; ``with`` does both."""

    @abstractmethod
    def start(self) -> Self:
        """Start, and return the started thing."""

    @abstractmethod
    def stop(self) -> None:
        """Stop; harmless when not started, or stopped already."""

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
