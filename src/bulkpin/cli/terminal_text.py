"""Text from outside (file names, service answers) made safe to print on a terminal.

A file may be named ``\\x1b]0;pwned\\x07`` or ``\\x1b[2J``: printed raw, the
name sets the window title or clears the screen; a hostile service can put
the same in a pin's name or an error message. Every name or foreign text the
CLI prints goes through :func:`for_terminal`, which writes what is not
printable as ``ls -b`` (``--quoting-style=escape``) does: C escapes for the
usual controls, octal bytes for the rest, ``\\\\`` for a backslash (so an
escaped name cannot pass for another). A byte that was not UTF-8 (a lone
surrogate from ``surrogateescape``) is shown as that byte. JSON output needs
none of this: ``json.dumps`` escapes controls itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.text import Text

__all__ = ["failure_line", "failure_text", "for_terminal"]

_NAMED = {"\a": "\\a", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\v": "\\v", "\f": "\\f",
          "\r": "\\r", "\x1b": "\\e", "\\": "\\\\"}


def _escape(char: str) -> str:
    named = _NAMED.get(char)
    if named is not None:
        return named
    if "\udc80" <= char <= "\udcff":  # a byte surrogateescape kept: that byte
        return f"\\{ord(char) - 0xDC00:03o}"
    data = char.encode("utf-8", "surrogatepass")
    return "".join(f"\\{byte:03o}" for byte in data)


def for_terminal(text: str) -> str:
    """``text`` with every unprintable character (and the backslash) escaped."""
    if text.isprintable() and "\\" not in text:
        return text  # the common case, at the cost of one scan
    return "".join(c if c.isprintable() and c != "\\" else _escape(c) for c in text)


def failure_line(name: str, error: str | None) -> str:
    """``failed: NAME: ERROR``, both escaped: the line every command prints per failure."""
    return f"failed: {for_terminal(name)}: {for_terminal(error or '')}"


def failure_text(name: str, error: str | None) -> Text:
    """:func:`failure_line` for a rich console, "failed" in red; never read as markup.

    (A name holding ``[bold]`` is a name, not a style.)
    """
    from rich.text import Text  # noqa: PLC0415 - rich is loaded only on a terminal

    return Text.assemble(("failed", "red"), failure_line(name, error).removeprefix("failed"))
