"""Transaction signatures (snap-reference §3) and the merchant side of SNAP (§4): thin calls
into libdoku. Every rule (minify, string to sign, DOKU's checks, JWT claims, the answers DOKU
expects) lives in the core."""

from __future__ import annotations

import ctypes
import json
from dataclasses import dataclass
from typing import Any, Dict, Iterable, Mapping, NamedTuple, Optional, Protocol, Tuple, Union

from ._native import Body, call_string, cbody, check, cstr, json_object, lib, utf8
from .errors import InvalidArgumentError, SignatureInvalidError, Status

Text = Union[str, bytes]


class Headers(Protocol):
    """Request headers: a Mapping[str, str], or anything else with .items() giving (name,
    value) pairs, such as http.server's self.headers (an email.message.Message)."""

    def items(self) -> Iterable[Tuple[str, Any]]: ...


def minify(json_body: Text) -> str:
    """The JSON text without the whitespace outside strings; everything else (key order,
    string contents and escapes, number spelling) byte for byte. This is the form transaction
    signatures hash. Raises InvalidArgumentError for text that is not JSON."""
    return call_string(lib.doku_minify, cstr(json_body, "json_body"))


def sign_request(client_secret: Text, method: str, path: str, access_token: str, body: Body,
                 timestamp: str) -> str:
    """The symmetric X-SIGNATURE of a transaction request: base64 HMAC-SHA512 keyed with
    client_secret over METHOD:path:token:hex(sha256(minify(body))):timestamp.

    path is the relative endpoint ("/virtual-accounts/..."), access_token may carry "Bearer ",
    body is the JSON text you send (str or bytes), or None / "" for no body. Raises
    InvalidArgumentError for an empty secret or token, a malformed method or path, or a body
    that is not JSON."""
    return call_string(lib.doku_sign_request, cstr(client_secret, "client_secret"),
                       cstr(method, "method"), cstr(path, "path"),
                       cstr(access_token, "access_token"), cbody(body),
                       cstr(timestamp, "timestamp"))


def _verified(status: int) -> bool:
    # A signature that does not verify is an answer (False), anything else an error: the one
    # check() path raises it, and we turn only its SignatureInvalidError into False.
    try:
        check(status)
    except SignatureInvalidError:
        return False
    return True


def verify(client_id: str, timestamp: str, signature: str, public_key: Text) -> bool:
    """Whether signature is SHA256withRSA over "client_id|timestamp" with public_key (PEM or
    bare base64 text): e.g. the X-SIGNATURE of DOKU's token request to a merchant.

    Returns False when the signature does not verify (including one that is not base64);
    raises InvalidArgumentError / InvalidKeyError for bad input, e.g. an unusable key, so that
    a misconfiguration is never mistaken for a forged request."""
    return _verified(lib.doku_verify(cstr(client_id, "client_id"), cstr(timestamp, "timestamp"),
                                     cstr(signature, "signature"), cstr(public_key, "public_key")))


def verify_request(client_secret: Text, method: str, path: str, access_token: str, body: Body,
                   timestamp: str, signature: str) -> bool:
    """Whether signature is the symmetric X-SIGNATURE of this request (see sign_request),
    compared in constant time: e.g. on a notification from DOKU. Pass the raw body bytes as
    received. Returns False when it does not match; raises InvalidArgumentError for bad input
    (empty secret or token, malformed method or path, a body that is not JSON)."""
    return _verified(lib.doku_verify_request(
        cstr(client_secret, "client_secret"), cstr(method, "method"), cstr(path, "path"),
        cstr(access_token, "access_token"), cbody(body), cstr(timestamp, "timestamp"),
        cstr(signature, "signature")))


class IssuedToken(NamedTuple):
    """The answer to send to DOKU's token request: the HTTP status and the exact JSON body
    (2007300 with an access token, or DOKU's refusal, e.g. 401 4017300)."""

    http_status: int
    body: str

    def json(self) -> Dict[str, Any]:
        """The body, parsed."""
        parsed: Dict[str, Any] = json.loads(self.body)
        return parsed


def _headers_json(headers: Headers) -> bytes:
    # Anything with .items() works, e.g. http.server's headers (an email.message.Message).
    try:
        pairs = dict(headers.items())
        text = json.dumps(pairs, ensure_ascii=False)
    except (AttributeError, TypeError, ValueError) as e:
        raise InvalidArgumentError(f"headers must be a mapping of str to str: {e}",
                                   Status.INVALID_ARGUMENT) from None
    return cstr(text, "headers")  # values that are not strings are refused by the core


def issue_token(options: Mapping[str, Any], headers: Headers, body: Body) -> IssuedToken:
    """Answers DOKU's POST /authorization/v1/access-token/b2b to the merchant, judged as DOKU
    judges a merchant's: mandatory headers, X-TIMESTAMP format, body, client id, clock skew,
    then the request's signature with DOKU's public key. On success the answer is 200 with
    2007300 and an RS256 JWT signed with the merchant's private key (claims iss, iat, exp,
    clientId, jti), valid ttl_s seconds.

    options is a mapping of the token options, passed to the core as JSON (the "Token issuer
    options" table of the main README describes each one):

      client_id                        required: the merchant's client id (DOKU's X-CLIENT-KEY)
      doku_public_key                  DOKU's public key, PEM or bare base64 text
      doku_public_key_file             ... or the file holding it; exactly one of the two
      merchant_private_key             the merchant's RSA private key, PEM or base64 text
      merchant_private_key_file        ... or the file holding it; exactly one of the two
      merchant_private_key_passphrase  for an encrypted merchant key
      ttl_s                            the token's lifetime, 1 to 86400 s; default 900
      max_skew_s                       the X-TIMESTAMP drift accepted, 1 to 86400 s; default 300

    A value of None is the same as leaving the key out; *_file values may be str or
    os.PathLike (e.g. pathlib.Path). Keys are cached by their content, so passing the same
    options on every request costs a digest, not a parse (a *_file is read on every call).

    headers: the request's headers, a Mapping[str, str] or anything with .items(), such as
    http.server's self.headers; names in any case. body: the raw request body (str or bytes),
    or None for none.

    A refusal is not an exception: it is the IssuedToken to send (e.g. 400 4007302 without
    X-SIGNATURE, 401 4017300 for a bad signature, an unknown client or a stale X-TIMESTAMP).
    Exceptions are for bad input (the options, or headers and body that cannot be read):

    - InvalidArgumentError (status INVALID_ARGUMENT): options that are not a mapping or hold a
      value JSON cannot encode; an unknown key, a wrong type or a value out of range; both or
      neither of a key and its *_file; headers that are not a mapping of strings; a body
      that is not UTF-8 or holds a NUL character.
    - InvalidKeyError (status KEY): an unusable key, a key file that cannot be read, a wrong
      passphrase.

    Messages name the option and never show key text or the passphrase."""
    status = ctypes.c_int(0)
    text = call_string(lib.doku_issue_token, json_object("options", options), _headers_json(headers),
                       cbody(body), ctypes.byref(status))
    return IssuedToken(status.value, text)


def validate_token(bearer_or_jwt: str, merchant_public_key: Text) -> Dict[str, Any]:
    """Validates the token DOKU presents on a notification (the Authorization header value,
    "Bearer " optional): an unexpired RS256 JWT signed with the merchant's key. Returns its
    claims (iss, iat, exp, clientId, jti).

    Raises SignatureInvalidError for a bad signature, an alg other than RS256 (none, HS256) or
    an expired token; InvalidArgumentError for something that is not a JWT; InvalidKeyError
    for an unusable key."""
    claims: Dict[str, Any] = json.loads(call_string(
        lib.doku_validate_token, cstr(bearer_or_jwt, "bearer_or_jwt"),
        cstr(merchant_public_key, "merchant_public_key")))
    return claims


# A request body exactly as received: bytes (any bytes, NUL included), or str (sent as UTF-8).
RawBody = Union[bytes, bytearray, memoryview, str, None]


def _raw_body(body: RawBody) -> Tuple[Optional[bytes], int]:
    """A (pointer, length) body argument: every byte, NUL included; None is no body."""
    if body is None:
        return None, 0
    if isinstance(body, str):
        data = utf8(body, "body")
    elif isinstance(body, (bytes, bytearray, memoryview)):
        data = bytes(body)
    else:
        raise InvalidArgumentError(f"body must be bytes or str, not {type(body).__name__}",
                                   Status.INVALID_ARGUMENT)
    return data, len(data)


def _json_text(value: Any) -> str:
    # A body the core wrote, as text again: compact, non-ASCII as UTF-8, keys in the core's
    # order (json keeps it). Only a float may be spelt otherwise (1e+21 for 1e21): same JSON.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _json_data(what: str, value: Mapping[str, Any]) -> bytes:
    """A mapping of data (a request, a result) as JSON text for the core. Unlike options, its
    strings may hold anything, NUL included: JSON escapes it (\\u0000)."""
    try:
        return json.dumps(dict(value), ensure_ascii=False, allow_nan=False).encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidArgumentError(f"{what} is not valid Unicode (a lone surrogate)",
                                   Status.INVALID_ARGUMENT) from None
    except (TypeError, ValueError) as e:  # "Object of type set is not JSON serializable", ...
        raise InvalidArgumentError(f"{what} cannot be encoded as JSON: {e}",
                                   Status.INVALID_ARGUMENT) from None


@dataclass(frozen=True)
class Verdict:
    """merchant_verify()'s judgement of one call DOKU made to the merchant.

    Accepted (``accepted`` is True): a genuine, fresh, first-seen call. ``operation`` is
    "inquiry", "payment_notification" or "debit_notification", ``request`` its body as a dict,
    ``external_id`` and ``timestamp`` its X-EXTERNAL-ID and X-TIMESTAMP; ``http_status`` and
    ``body`` are None. Answer it with merchant_answer(v.operation, v.request, result).

    Refused (``accepted`` is False): send ``http_status`` and ``body`` (the JSON text
    {"responseCode":...,"responseMessage":...}, DOKU's code for the service) as they are.
    ``operation`` names the call when the path was one of DOKU's, else it is None (a 404);
    ``request``, ``external_id`` and ``timestamp`` are None.

    No field holds the token or the secret; a refusal's message never quotes them."""

    accepted: bool
    operation: Optional[str]
    request: Optional[Dict[str, Any]] = None
    external_id: Optional[str] = None
    timestamp: Optional[str] = None
    http_status: Optional[int] = None
    body: Optional[str] = None

    @property
    def response_code(self) -> Optional[str]:
        """A refusal's responseCode (e.g. "4012500"), or None when accepted."""
        return None if self.body is None else str(json.loads(self.body)["responseCode"])


class MerchantAnswer(NamedTuple):
    """The answer to send to a call merchant_verify() accepted: the HTTP status and the JSON
    text of the body (2002400 with the bill, 2002500, 2005600, or the refusal chosen)."""

    http_status: int
    body: str

    def json(self) -> Dict[str, Any]:
        """The body, parsed."""
        parsed: Dict[str, Any] = json.loads(self.body)
        return parsed


def merchant_verify(options: Mapping[str, Any], method: str, path: str, headers: Headers,
                    body: RawBody) -> Verdict:
    """Judges one call DOKU makes to the merchant after the token request: the VA inquiry
    (path /v1.1/transfer-va/inquiry, operation "inquiry"), the VA payment notification
    (/v1.1/transfer-va/payment, "payment_notification") or the Direct Debit notification
    (/v1.0/debit/notify, "debit_notification"), each possibly behind a base path of the
    merchant's. In DOKU's order: the mandatory headers, the formats of X-TIMESTAMP and
    X-EXTERNAL-ID, the token (an unexpired RS256 JWT of the merchant's issuer, e.g. one
    issue_token() made), the timestamp's freshness, X-PARTNER-ID, the HMAC-SHA512 signature
    over the exact body bytes (constant time), the request not received before (a replay),
    then the body's mandatory fields. Returns a Verdict: accepted, or the refusal
    to send (e.g. 401 4012501 for an expired token, 409 4092500 for a replay).

    options is a mapping of the verify options, passed to the core as JSON (the "Notification
    verifier options" table of the main README describes each one):

      client_id                 required: the merchant's client id (DOKU's X-PARTNER-ID)
      client_secret             the merchant's client secret, which keys the signature
      client_secret_file        ... or the file holding it (one trailing line end ignored);
                                exactly one of the two
      merchant_public_key       the public key of the merchant's token issuer, PEM or bare
                                base64 text: it verifies the JWT DOKU presents
      merchant_public_key_file  ... or the file holding it; exactly one of the two
      max_skew_s                the X-TIMESTAMP drift accepted, 1 to 3600 s; default 300
      operation                 the call every request is ("inquiry", "payment_notification",
                                "debit_notification"), whatever its path

    A value of None is the same as leaving the key out; *_file values may be str or
    os.PathLike (e.g. pathlib.Path). The binding keeps no copy of the options; the core caches
    the parsed public key by content and reads a *_file on every call.

    method and path: the request's, as received (path with its query: self.path in
    http.server). headers: a Mapping[str, str] or anything with .items(), such as http.server's
    self.headers; names in any case. body: the raw body exactly as received, bytes (any bytes:
    NUL and invalid UTF-8 are passed on with the exact length, and judged by the core) or
    str (sent as UTF-8); None or b"" for none.

    A refusal is not an exception. Exceptions are for bad arguments:

    - InvalidArgumentError (status INVALID_ARGUMENT): options that are not a mapping or hold a
      value JSON cannot encode; an unknown key, a wrong type, a value out of range; both or
      neither of a key and its *_file; a secret file that cannot be read; headers that are not
      a mapping of strings; a method or path that is not str or holds a NUL; a body of another
      type.
    - InvalidKeyError (status KEY): the public key unusable or its file unreadable.

    Messages name the option and never show the secret, key text or the token.

    Replays: accepted requests are remembered per process by what they signed (not by
    X-EXTERNAL-ID, which is not signed), for twice max_skew_s, up to 100000; processes (forked
    servers, several workers) do not share them, so record payments idempotently all the same.
    Thread-safe; the GIL is released during the call."""
    options_json = json_object("options", options)
    method_c, path_c = cstr(method, "method"), cstr(path, "path")
    headers_json = _headers_json(headers)
    data, length = _raw_body(body)
    verdict = json.loads(call_string(lib.doku_merchant_verify, options_json, method_c, path_c,
                                     headers_json, data, ctypes.c_size_t(length)))
    if verdict["accepted"]:
        return Verdict(True, verdict["operation"], request=verdict["request"],
                       external_id=verdict["externalId"], timestamp=verdict["timestamp"])
    return Verdict(False, verdict["operation"], http_status=verdict["httpStatus"],
                   body=_json_text(verdict["body"]))


def merchant_answer(operation: str, request: Mapping[str, Any],
                    result: Optional[Mapping[str, Any]] = None) -> MerchantAnswer:
    """Builds the answer to a call merchant_verify() accepted: operation and request are the
    Verdict's, result (None is {}) what the merchant decided, passed to the core as JSON:

    - "inquiry": the bill, {"virtualAccountName": "...", "totalAmount": {"value":
      "10000.00", "currency": "IDR"}} (both required), optionally "trxId",
      "virtualAccountEmail", "virtualAccountPhone", "virtualAccountTrxType" (default "C"),
      "expiredDate" (ISO-8601 with an offset) and "additionalInfo" (merged into the
      request's). Answers 200 2002400 with virtualAccountData.
    - "payment_notification": no key; answers 200 2002500 echoing the request's ids.
    - "debit_notification": optionally "approvalCode"; answers 200 2005600.
    - Instead, {"refuse": REASON} answers a refusal: "bill_not_found" (404xx12),
      "invalid_amount" (404xx13), "bill_paid" (404xx14), "bill_expired" (404xx19) for the VA
      calls, "general_error" (500xx00: DOKU retries) for any.

    A value of None in result is the same as leaving the key out. Returns the
    MerchantAnswer(http_status, body) to send, body as JSON text.

    Raises InvalidArgumentError (status INVALID_ARGUMENT) for an unknown operation, a request
    that is not a mapping or lacks the call's mandatory fields, a result that is not a mapping
    (or None), an unknown key or a malformed value in it (each named), or a value JSON cannot
    encode. Thread-safe; keeps no state."""
    operation_c = cstr(operation, "operation")
    if not isinstance(request, Mapping):
        raise InvalidArgumentError(
            f"request must be a mapping (the verdict's request), not {type(request).__name__}",
            Status.INVALID_ARGUMENT)
    if result is not None and not isinstance(result, Mapping):
        raise InvalidArgumentError(f"result must be a mapping or None, not {type(result).__name__}",
                                   Status.INVALID_ARGUMENT)
    request_json = _json_data("request", request)
    result_json = None if result is None else _json_data("result", result)
    answer = json.loads(call_string(lib.doku_merchant_answer, operation_c, request_json,
                                    result_json))
    return MerchantAnswer(answer["httpStatus"], _json_text(answer["body"]))
