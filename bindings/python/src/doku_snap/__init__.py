"""DOKU SNAP authentication for Python, on the native libdoku core (through its C ABI).

    import doku_snap
    with doku_snap.Client(client_id="MCH-...", private_key_file="private.pem",
                          client_secret="...", channel_id="H2H") as client:
        headers = {"Authorization": "Bearer " + client.get_token()}
        answer = client.request("POST", "/virtual-accounts/...", {"trxId": "..."})
        answer = client.create_va({...})  # DOKU's operations by name, checked before sending

Merchant side (DOKU calling you): issue_token() answers DOKU's token request; merchant_verify()
judges every later call (VA inquiry, VA payment notification, Direct Debit notification) and
merchant_answer() builds the answer to one it accepted. validate_token() and verify_request()
are the separate checks, for callers that need them alone.

Events (a token fetched, a failed fetch, a stale token served, an Invalid-Token retry, a
drifting clock, the token store's state) go to ``logging.getLogger("doku_snap")``, with the
event's name in ``record.event``; ``Client.stats()`` gives the token cache's counters.

The library is the copy bundled in this package, or the one named by DOKU_LIBRARY (which
takes precedence when set).
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Union

from . import _log  # noqa: F401  (installs the log callback: events go to logging.getLogger("doku_snap"))
from ._client import CallOptions, Client, Response
from ._native import call_string, cstr, lib
from ._snap import (IssuedToken, MerchantAnswer, Verdict, issue_token, merchant_answer,
                    merchant_verify, minify, sign_request, validate_token, verify, verify_request)
from .errors import (
    ApiError,
    ClientClosedError,
    CryptoError,
    DokuError,
    DokuTimeoutError,
    InternalError,
    InvalidArgumentError,
    InvalidKeyError,
    NetworkError,
    OutcomeUnknownError,
    ProtocolError,
    SignatureInvalidError,
    Status,
    TlsError,
)

__all__ = [
    "Client", "Response", "CallOptions", "operations", "sign", "timestamp", "version", "minify", "sign_request", "verify",
    "verify_request", "issue_token", "IssuedToken", "validate_token", "merchant_verify",
    "Verdict", "merchant_answer", "MerchantAnswer", "Status", "DokuError",
    "InvalidArgumentError", "ClientClosedError", "InvalidKeyError", "CryptoError", "NetworkError",
    "DokuTimeoutError", "TlsError", "ApiError", "ProtocolError", "SignatureInvalidError",
    "OutcomeUnknownError", "InternalError",
]


def version() -> str:
    """The loaded libdoku's version, e.g. "0.1.0"."""
    return str(lib.doku_version().decode())


__version__ = version()


def operations() -> List[Dict[str, Any]]:
    """The catalog of DOKU's operations that Client.call() works by, one dict each: name,
    method, path, service, success (codes), required and accepted (options, as JSON keys:
    customerToken, ipAddress, deviceId), movesMoney, statusOperation and fields ({name,
    mandatory, rule}: the body's rules, checked before sending). Client has a method of each
    name."""
    catalog: List[Dict[str, Any]] = json.loads(call_string(lib.doku_operations))
    return catalog


def timestamp() -> str:
    """Now, UTC, as "YYYY-MM-DDTHH:MM:SSZ" (an X-TIMESTAMP value)."""
    return call_string(lib.doku_timestamp)


def sign(client_id: str, timestamp: str, private_key: Union[str, bytes]) -> str:
    """The B2B X-SIGNATURE: base64 SHA256withRSA over "client_id|timestamp", equal to
    `openssl dgst -sha256 -sign`. private_key is key text (PKCS#8 or PKCS#1 PEM, or bare
    base64 DER), not a path; encrypted keys need a Client. Raises InvalidArgumentError or
    InvalidKeyError."""
    return call_string(lib.doku_sign, cstr(client_id, "client_id"), cstr(timestamp, "timestamp"),
                       cstr(private_key, "private_key"))
