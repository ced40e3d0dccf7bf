"""Transaction signatures (snap-reference §3) and the merchant side of SNAP (§4): thin calls
into libdoku. Every rule (minify, string to sign, DOKU's checks, JWT claims) lives in the core."""

from __future__ import annotations

import ctypes
import json
from typing import Any, Dict, Iterable, Mapping, NamedTuple, Protocol, Tuple, Union

from ._native import Body, call_string, cbody, check, cstr, json_object, lib
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
