"""Client: a DokuClient handle, shared safely between threads and closed exactly once."""

from __future__ import annotations

import ctypes
import functools
import json
import sys
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Dict, Mapping, Optional, Sequence, TypeVar, Union

from ._native import Body, call_string, cbody, check, cstr, json_object, lib
from .errors import ClientClosedError, InvalidArgumentError, Status

if sys.version_info >= (3, 11):
    from typing import TypedDict, Unpack
else:
    from typing import TypedDict
    if TYPE_CHECKING:  # annotations are not evaluated at run time (__future__ annotations)
        from typing_extensions import Unpack

# Client.request() also takes a dict or list, which it encodes itself (see _json_body).
JsonBody = Union[str, bytes, bytearray, Mapping[str, Any], Sequence[Any], None]


class CallOptions(TypedDict, total=False):
    """The keyword options of Client.request(), Client.call() and the named operations. Each is
    sent only when given; None is the same as leaving it out."""

    customer_token: Optional[str]  # Authorization-Customer: Bearer … (B2B2C access token)
    ip_address: Optional[str]      # X-IP-ADDRESS: the customer's IPv4 or IPv6 address
    device_id: Optional[str]       # X-DEVICE-ID: the customer's device
    channel_id: Optional[str]      # CHANNEL-ID instead of the config's channel_id
    external_id: Optional[str]     # X-EXTERNAL-ID instead of a generated one (1 to 36 digits)
    headers: Optional[Mapping[str, str]]  # further X-… headers


# Keyword option -> options_json key. The core's messages name options by the JSON key.
_OPTION_KEYS = {"customer_token": "customerToken", "ip_address": "ipAddress",
                "device_id": "deviceId", "channel_id": "channelId", "external_id": "externalId",
                "headers": "headers"}


def _options_json(options: Mapping[str, Any]) -> Optional[bytes]:
    """options_json from the keyword options given (None values left out), or None (NULL) when
    none is. The core checks names, formats and what each operation takes."""
    given: Dict[str, Any] = {}
    for name, value in options.items():
        if value is None:
            continue
        if name == "headers" and isinstance(value, Mapping):
            value = dict(value)  # any Mapping (json.dumps takes only dicts)
        given[_OPTION_KEYS[name]] = value
    return json_object("options", given) if given else None


def _mapping_as_dict(value: Any) -> Dict[str, Any]:
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _json_body(body: JsonBody) -> Optional[bytes]:
    """request()'s body: str/bytes as given; a dict or list as compact JSON that keeps
    non-ASCII characters as they are (ensure_ascii=False). The core minifies either way, and
    sends exactly the bytes it signed."""
    if body is None or isinstance(body, (str, bytes, bytearray)):
        return cbody(body)
    if not isinstance(body, (Mapping, list, tuple)):
        raise InvalidArgumentError(
            f"body must be str, bytes, a dict or a list, not {type(body).__name__}",
            Status.INVALID_ARGUMENT)
    try:
        # json.dumps takes dicts only: any other Mapping, at any depth, as the dict it reads as.
        text = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False,
                          default=_mapping_as_dict)
    except (TypeError, ValueError) as e:
        raise InvalidArgumentError(f"body is not JSON-serialisable: {e}",
                                   Status.INVALID_ARGUMENT) from None
    return cbody(text)


@dataclass(frozen=True)
class Response:
    """DOKU's answer to a transaction request, whatever its HTTP status: ``http_status``,
    ``response_code`` (its responseCode, e.g. "2002700", or None), the raw ``body``,
    ``operation`` (the catalog operation called, None for request()) and ``external_id`` (the
    X-EXTERNAL-ID sent, e.g. to quote to DOKU's support or as a refund's originalExternalId)."""

    http_status: int
    response_code: Optional[str]
    body: str
    operation: Optional[str] = None
    external_id: Optional[str] = None

    def json(self) -> Any:
        """The body, parsed (raises json.JSONDecodeError if it is not JSON)."""
        return json.loads(self.body)


_F = TypeVar("_F", bound=Callable[..., Any])


def _operation(stub: _F) -> _F:
    """Makes a named operation method from a stub whose name is the catalog operation's: the
    stub's signature and docstring are what IDEs and help() show; calling it is
    self.call(name, body, **options). test_operations.py checks the names against the catalog."""
    name = stub.__name__

    @functools.wraps(stub)
    def method(self: "Client", body: JsonBody, **options: Any) -> Response:
        return self.call(name, body, **options)

    method.operation = name  # type: ignore[attr-defined]
    return method  # type: ignore[return-value]


class Client:
    """A DOKU client: credentials, a connection pool and the process-wide token cache.

    ``Client({"client_id": ...})`` or ``Client(client_id=..., private_key_file=...)``; keyword
    arguments override the dict. Keys are the core's config keys (see README); None values
    are left out. Raises InvalidArgumentError or InvalidKeyError; makes no network call.

    Thread-safe: share one Client between threads. close() may be called at any time from
    any thread: calls already inside the C library finish, later ones raise
    ClientClosedError, and the handle is freed when the last in-flight call returns.
    """

    def __init__(self, config: Optional[Mapping[str, Any]] = None, /, **kwargs: Any) -> None:
        self._lock = threading.Lock()
        self._handle: Optional[int] = None
        self._users = 0  # calls currently using the handle
        self._closed = True
        merged = {**(config or {}), **kwargs}
        client_id = merged.get("client_id")
        self._client_id = client_id if isinstance(client_id, str) else None  # for repr only
        # The config (key text, passphrase) is not kept: the core holds what it needs.
        out = ctypes.c_void_p()
        check(lib.doku_client_new(json_object("config", merged), ctypes.byref(out)))
        self._handle, self._closed = out.value, False

    # The refcount around the handle: doku_client_free must not run while another thread is
    # inside a call with the same pointer (a use-after-free in C).
    def _acquire(self) -> int:
        with self._lock:
            if self._closed:
                raise ClientClosedError("the client is closed", Status.NULL_ARGUMENT)
            self._users += 1
            return self._handle  # type: ignore[return-value]

    def _release(self) -> None:
        with self._lock:
            self._users -= 1
            handle = self._take_if_unused()
        if handle is not None:  # close() came while we were inside: the last one out frees
            lib.doku_client_free(handle)

    def _take_if_unused(self) -> Optional[int]:
        if self._closed and self._users == 0:
            handle, self._handle = self._handle, None
            return handle
        return None

    def get_token(self) -> str:
        """A valid B2B access token (without "Bearer "): cached, or fetched once however
        many threads ask at the same time."""
        return self._call(lib.doku_get_token)

    def token_info(self) -> Dict[str, Any]:
        """The current token as {"accessToken", "tokenType", "expiresIn", "expiresAt"},
        fetching one as get_token() does."""
        info: Dict[str, Any] = json.loads(self._call(lib.doku_token_info))
        return info

    def stats(self) -> Dict[str, Any]:
        """The counters of this client's token cache entry, shared by every client of the same
        base URL, client id and key in the process, since the entry was created:

        - ``inProcessHits``: calls answered from this process's cache (the cached token, one
          another thread had just fetched, or a still-valid token served while its refresh
          failed);
        - ``storeHits``: tokens read from the shared token store instead of fetched;
        - ``fetches`` / ``fetchFailures``: token requests to DOKU that succeeded / failed;
        - ``storeErrors``: failed token store operations (each passed by);
        - ``lastFetchMs``: how long the last token request took, successful or not, in
          milliseconds (a float), or None before the first;
        - ``lastStoreError``: the message of the last token store failure, or None.

        Makes no network call."""
        stats: Dict[str, Any] = json.loads(self._call(lib.doku_client_stats))
        return stats

    def _call(self, fn: Any, *args: Any) -> str:
        """fn(handle, *args, &out) through call_string, holding the handle meanwhile."""
        handle = self._acquire()
        try:
            return call_string(fn, handle, *args)
        finally:
            self._release()

    def request_headers(self, method: str, path: str, body: Body = None) -> Dict[str, str]:
        """Every header a signed transaction request needs (Authorization with the cached B2B
        token, X-TIMESTAMP, X-SIGNATURE, X-PARTNER-ID, a fresh X-EXTERNAL-ID, CHANNEL-ID,
        Content-Type), for sending with your own HTTP stack.

        body must be the exact JSON text (str or bytes) you will send, or None: the signature
        covers minify(body). A dict is refused here, because the bytes you send would be
        yours to encode; request() takes dicts. Needs client_secret and channel_id."""
        if body is not None and not isinstance(body, (str, bytes, bytearray)):
            raise InvalidArgumentError(
                f"body must be the JSON text you send (str or bytes), not {type(body).__name__}",
                Status.INVALID_ARGUMENT)
        headers: Dict[str, str] = json.loads(self._call(
            lib.doku_client_request_headers, cstr(method, "method"), cstr(path, "path"),
            cbody(body)))
        return headers

    def request(self, method: str, path: str, body: JsonBody = None, *,
                customer_token: Optional[str] = None, ip_address: Optional[str] = None,
                device_id: Optional[str] = None, channel_id: Optional[str] = None,
                external_id: Optional[str] = None,
                headers: Optional[Mapping[str, str]] = None) -> Response:
        """Sends a signed transaction request to path (relative to the base URL, e.g.
        "/virtual-accounts/bi-snap-va/v1.1/transfer-va/create-va") and returns DOKU's answer,
        whatever its HTTP status. On Invalid Token (401xx01) the core fetches a new token and
        retries once. body: JSON text (str/bytes), a dict or list (encoded compactly with
        ensure_ascii=False), or None. Needs client_secret and channel_id (or channel_id=...).

        The keyword options (see CallOptions) are sent as given, none required and none checked
        against an operation: for DOKU's own operations prefer call() or the named methods,
        which check the body and options first and know which calls move money.

        Raises InvalidArgumentError (missing client_secret/channel_id, bad method, path, body
        or option) and the transport errors of get_token()."""
        options = _options_json(dict(customer_token=customer_token, ip_address=ip_address,
                                     device_id=device_id, channel_id=channel_id,
                                     external_id=external_id, headers=headers))
        return self._response(self._call(lib.doku_client_request, cstr(method, "method"),
                                         cstr(path, "path"), _json_body(body), options))

    def call(self, operation: str, body: JsonBody, *, customer_token: Optional[str] = None,
             ip_address: Optional[str] = None, device_id: Optional[str] = None,
             channel_id: Optional[str] = None, external_id: Optional[str] = None,
             headers: Optional[Mapping[str, str]] = None) -> Response:
        """Calls one of DOKU's operations by its catalog name (see doku_snap.operations(), and
        the named methods: client.create_va(body, ...) is client.call("create_va", body, ...))
        with its method and path, signed as request() signs, and returns DOKU's answer whatever
        its HTTP status (``operation`` set). body as for request().

        Before anything is sent the core checks the body by the operation's rules (mandatory
        fields, formats such as partnerServiceId's 8 characters, amounts as "10000.00" IDR)
        and the options by its needs: InvalidArgumentError names the field or option (by its
        JSON key, e.g. customerToken), never its value. An option the operation does not send
        is refused, not ignored.

        Money: payment, payment_jump_app and refund are never resent once sent. If their answer
        is lost after sending (a timeout, a broken connection) the call raises
        OutcomeUnknownError: DOKU may have acted on it; ask check_status, as its message says.
        Other failures raise as request() does."""
        options = _options_json(dict(customer_token=customer_token, ip_address=ip_address,
                                     device_id=device_id, channel_id=channel_id,
                                     external_id=external_id, headers=headers))
        return self._response(self._call(lib.doku_client_call, cstr(operation, "operation"),
                                         _json_body(body), options))

    @staticmethod
    def _response(text: str) -> Response:
        answer = json.loads(text)
        return Response(answer["httpStatus"], answer.get("responseCode"), answer["body"],
                        answer.get("operation"), answer.get("externalId"))

    # One method per catalog operation: client.create_va(body, **options) is
    # client.call("create_va", body, **options); _operation replaces the stubs' bodies, which
    # never run. Each docstring ends with the options the operation requires and accepts
    # besides channel_id, external_id and headers (checked against the catalog by the tests).

    @_operation
    def create_va(self, body: JsonBody, **options: Unpack[CallOptions]) -> Response:
        """Creates a virtual account: a bill the customer pays by bank transfer (2002700).

        Options: none required."""
        raise NotImplementedError

    @_operation
    def update_va(self, body: JsonBody, **options: Unpack[CallOptions]) -> Response:
        """Updates an unpaid virtual account's bill (2002800).

        Options: none required."""
        raise NotImplementedError

    @_operation
    def delete_va(self, body: JsonBody, **options: Unpack[CallOptions]) -> Response:
        """Deletes an unpaid virtual account (2003100).

        Options: none required."""
        raise NotImplementedError

    @_operation
    def check_status_va(self, body: JsonBody, **options: Unpack[CallOptions]) -> Response:
        """A virtual account's status: paid or not, paidAmount (2002600).

        Options: none required."""
        raise NotImplementedError

    @_operation
    def account_binding(self, body: JsonBody, **options: Unpack[CallOptions]) -> Response:
        """Binds a customer's e-wallet or bank account for Direct Debit (2000700);
        additionalInfo.authCode goes to get_token_b2b2c() for the customer token.

        Options: ip_address, device_id required."""
        raise NotImplementedError

    @_operation
    def account_unbinding(self, body: JsonBody, **options: Unpack[CallOptions]) -> Response:
        """Unbinds an account (tokenId: the customer token), revoking its tokens (2000500).

        Options: ip_address required."""
        raise NotImplementedError

    @_operation
    def card_registration(self, body: JsonBody, **options: Unpack[CallOptions]) -> Response:
        """Registers a customer's card for Direct Debit (2000100); additionalInfo.authCode goes
        to get_token_b2b2c().

        Options: none required; ip_address, device_id accepted."""
        raise NotImplementedError

    @_operation
    def card_unbinding(self, body: JsonBody, **options: Unpack[CallOptions]) -> Response:
        """Unbinds a registered card (tokenId: its customer token) (2000500).

        Options: none required; ip_address accepted."""
        raise NotImplementedError

    @_operation
    def payment(self, body: JsonBody, **options: Unpack[CallOptions]) -> Response:
        """Debits the customer's bound account, host to host (2005400). Moves money: a lost
        answer raises OutcomeUnknownError; never resend, ask check_status.

        Options: customer_token, ip_address required; device_id accepted."""
        raise NotImplementedError

    @_operation
    def payment_jump_app(self, body: JsonBody, **options: Unpack[CallOptions]) -> Response:
        """A payment the customer approves in the wallet's app (webRedirectUrl) (2005400).
        Moves money: a lost answer raises OutcomeUnknownError; ask check_status.

        Options: ip_address, device_id required."""
        raise NotImplementedError

    @_operation
    def refund(self, body: JsonBody, **options: Unpack[CallOptions]) -> Response:
        """Refunds a payment, wholly or in part (2000700 or 2005800). Moves money: a lost
        answer raises OutcomeUnknownError; ask check_status.

        Options: customer_token, ip_address required; device_id accepted."""
        raise NotImplementedError

    @_operation
    def balance_inquiry(self, body: JsonBody, **options: Unpack[CallOptions]) -> Response:
        """The balance of the customer's bound account (2001100).

        Options: customer_token, ip_address required."""
        raise NotImplementedError

    @_operation
    def check_status(self, body: JsonBody, **options: Unpack[CallOptions]) -> Response:
        """A Direct Debit payment's status by originalPartnerReferenceNo and serviceCode "54"
        (2005500): latestTransactionStatus "00" paid, "04" refunded, and its refunds.

        Options: none required."""
        raise NotImplementedError

    def get_token_b2b2c(self, auth_code: str) -> Dict[str, Any]:
        """Exchanges a customer's auth code for a B2B2C token: {"accessToken", "tokenType",
        "accessTokenExpiryTime", "refreshToken", "refreshTokenExpiryTime"}. Not cached.
        Raises ApiError when DOKU refuses (e.g. 4017401) and as get_token()."""
        token: Dict[str, Any] = json.loads(self._call(lib.doku_get_token_b2b2c,
                                                      cstr(auth_code, "auth_code")))
        return token

    def refresh_token_b2b2c(self, refresh_token: str) -> Dict[str, Any]:
        """Refreshes a B2B2C token with its refresh token; returns as get_token_b2b2c()."""
        token: Dict[str, Any] = json.loads(self._call(lib.doku_refresh_token_b2b2c,
                                                      cstr(refresh_token, "refresh_token")))
        return token

    def invalidate_token(self) -> None:
        """Drops the cached token (shared by every client with the same base URL, client id
        and key), so that the next get_token() fetches a new one. Call it after DOKU answers
        401xx01 (Invalid Token)."""
        handle = self._acquire()
        try:
            check(lib.doku_client_invalidate_token(handle))
        finally:
            self._release()

    def close(self) -> None:
        """Releases the client. Idempotent; the process-wide token cache keeps its token."""
        with self._lock:
            self._closed = True
            handle = self._take_if_unused()
        if handle is not None:  # else a running call frees it when it returns
            lib.doku_client_free(handle)

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        # Safety net only: no call can be in flight (each holds a reference to self). During
        # interpreter shutdown module globals may already be gone: never raise from here.
        try:
            if getattr(self, "_handle", None) is not None:
                self.close()
        except Exception:
            pass

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<doku_snap.Client client_id={self._client_id!r} {state}>"

