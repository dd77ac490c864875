"""No API key, token, private key or secret in any text the client produces."""

from __future__ import annotations

import logging
import threading

import pytest

from bulkpin.client import RedactingFilter, Secret, redact
from bulkpin.client.errors import error_for_status
from bulkpin.signing import generate_private_key, private_key_to_body, sign_cid

CID = "QmWATWQ7fVPP2EFGu71UkfnqhYXDYH566qy47CnJDgvs8u"


def test_secret_never_shows_itself() -> None:
    secret = Secret("super-secret-token-value")
    for text in (str(secret), repr(secret), f"{secret}", f"{secret!r}", "%s" % secret):  # noqa: UP031
        assert "super-secret" not in text
    assert secret.reveal() == "super-secret-token-value"


def test_registered_values_are_scrubbed_while_alive() -> None:
    secret = Secret("registered-value-123")
    assert redact("x registered-value-123 y") == "x <redacted> y"
    del secret
    assert redact("x registered-value-123 y") == "x registered-value-123 y"


@pytest.mark.parametrize(
    "text",
    [
        "{'Authorization': 'Bearer abc.def.ghi', 'Host': 'x'}",
        "<CIMultiDictProxy('UserAccessToken': 'opaque-token-1', 'Host': 'x')>",
        "headers: Authorization: Bearer opaque-token-1",
        "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl leaked",
    ],
)
def test_credential_shapes_are_scrubbed(text: str) -> None:
    cleaned = redact(text)
    assert "opaque-token-1" not in cleaned
    assert "abc.def.ghi" not in cleaned
    assert "eyJ" not in cleaned


def test_signatures_and_key_bodies_by_shape_but_not_cids() -> None:
    key = generate_private_key()
    body = private_key_to_body(key)
    secret = sign_cid(key, CID)
    cleaned = redact(f"cid={CID} secret {secret} key {body}")
    assert CID in cleaned
    assert secret not in cleaned
    assert body[:100] not in cleaned


def test_status_errors_redact_the_service_message() -> None:
    exc = error_for_status(400, "bad header Authorization: Bearer very-secret-key-1")
    assert "very-secret-key-1" not in str(exc)
    assert "very-secret-key-1" not in repr(exc)


def test_filter_scrubs_records(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.redact")
    caplog.handler.addFilter(RedactingFilter())
    with caplog.at_level(logging.DEBUG, logger="test.redact"):
        logger.debug("sending %s", {"Authorization": "Bearer opaque-token-2"})
    assert "opaque-token-2" not in caplog.text
    assert "<redacted>" in caplog.text


def test_a_secret_collected_inside_the_registry_does_not_deadlock() -> None:
    # Garbage collection can run a Secret's finalizer while the registry holds
    # its lock (compiling the pattern allocates); the finalizer must not block.
    from bulkpin.client.redact import _registry  # noqa: PLC0415 - private on purpose

    done = threading.Event()

    def discard_while_locked() -> None:
        with _registry._lock:
            _registry.discard("a-value-being-collected")
        done.set()

    worker = threading.Thread(target=discard_while_locked, daemon=True)
    worker.start()
    worker.join(5)
    assert done.is_set()
