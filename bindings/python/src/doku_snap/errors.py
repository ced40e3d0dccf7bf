"""Status codes and exceptions; the one mapping from a DokuStatus to an exception class."""

from __future__ import annotations

import enum
from typing import Any, Dict, Optional, Tuple, Type, Union


class Status(enum.IntEnum):
    """DokuStatus from doku.h. The values are fixed by the C ABI."""

    OK = 0
    NULL_ARGUMENT = 1
    INVALID_ARGUMENT = 2
    KEY = 3
    CRYPTO = 4
    NETWORK = 5
    TIMEOUT = 6
    TLS = 7
    API = 8
    PROTOCOL = 9
    SIGNATURE_INVALID = 10
    OUTCOME_UNKNOWN = 11
    PANIC = 99


class DokuError(Exception):
    """Base of every error raised by doku_snap.

    ``status`` is a :class:`Status` (a plain int for a value this binding does not know),
    ``message`` the core's description, ``response_code`` DOKU's responseCode or None.
    """

    def __init__(self, message: str, status: Union[Status, int], response_code: Optional[str] = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.response_code = response_code

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        status = self.status.name if isinstance(self.status, Status) else self.status
        return f"{type(self).__name__}({self.message!r}, status={status})"

    # Exceptions pickle as cls(*args); ours take more than the message (multiprocessing).
    def __reduce__(self) -> Tuple[Any, ...]:
        return (type(self), (self.message, self.status, self.response_code))


class InvalidArgumentError(DokuError, ValueError):
    """A bad argument or config value (also DOKU_ERR_NULL_ARGUMENT)."""


class ClientClosedError(InvalidArgumentError):
    """The Client was closed; the C API would see a NULL client (status NULL_ARGUMENT)."""


class InvalidKeyError(DokuError):
    """The private key is unreadable, malformed, encrypted without the right passphrase, not
    RSA, or shorter than 2048 bits."""


class CryptoError(DokuError):
    """OpenSSL failed while signing or verifying."""


class NetworkError(DokuError):
    """DNS failure, connection refused or reset, proxy failure."""


class DokuTimeoutError(DokuError, TimeoutError):
    """No complete answer within timeout_ms (or no connection within connect_timeout_ms)."""


class TlsError(DokuError):
    """TLS failed, e.g. the server's certificate is not trusted (see ca_file)."""


class ApiError(DokuError):
    """DOKU refused the request; ``response_code`` holds its responseCode, e.g. "4017300"."""


class ProtocolError(DokuError):
    """DOKU's answer is unusable: not JSON, missing fields, too large, not HTTP."""


class SignatureInvalidError(DokuError):
    """A signature did not verify."""


class OutcomeUnknownError(DokuError):
    """A money-moving call (payment, payment_jump_app, refund) was sent and its answer was lost
    (a timeout or a broken connection after sending): DOKU may have acted on it. Never send it
    again blindly: the message names the status operation (check_status) and the
    originalPartnerReferenceNo to ask it with.

    Deliberately not a TimeoutError nor a NetworkError: code that retries those must not
    retry this one."""


class InternalError(DokuError):
    """A bug in the core (a Rust panic caught at the C boundary)."""


_CLASSES: Dict[int, Type[DokuError]] = {
    Status.NULL_ARGUMENT: InvalidArgumentError,
    Status.INVALID_ARGUMENT: InvalidArgumentError,
    Status.KEY: InvalidKeyError,
    Status.CRYPTO: CryptoError,
    Status.NETWORK: NetworkError,
    Status.TIMEOUT: DokuTimeoutError,
    Status.TLS: TlsError,
    Status.API: ApiError,
    Status.PROTOCOL: ProtocolError,
    Status.SIGNATURE_INVALID: SignatureInvalidError,
    Status.OUTCOME_UNKNOWN: OutcomeUnknownError,
    Status.PANIC: InternalError,
}


def error_for(status: int, message: str, response_code: Optional[str] = None) -> DokuError:
    """The exception for a failed call's status (unknown values give a plain DokuError)."""
    try:
        known: Union[Status, int] = Status(status)
    except ValueError:
        known = status
    return _CLASSES.get(status, DokuError)(message, known, response_code or None)
