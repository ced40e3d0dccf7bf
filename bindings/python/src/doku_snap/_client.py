"""Client: a DokuClient handle, shared safely between threads and closed exactly once."""

from __future__ import annotations

import ctypes
import json
import threading
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional, Sequence, Union

from ._native import Body, call_string, cbody, check, cstr, json_object, lib
from .errors import ClientClosedError, InvalidArgumentError, Status

# Client.request() also takes a dict or list, which it encodes itself (see _json_body).
JsonBody = Union[str, bytes, bytearray, Mapping[str, Any], Sequence[Any], None]


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
        text = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as e:
        raise InvalidArgumentError(f"body is not JSON-serialisable: {e}",
                                   Status.INVALID_ARGUMENT) from None
    return cbody(text)


@dataclass(frozen=True)
class Response:
    """DOKU's answer to a transaction request, whatever its HTTP status: ``http_status``,
    ``response_code`` (its responseCode, e.g. "2002700", or None) and the raw ``body``."""

    http_status: int
    response_code: Optional[str]
    body: str

    def json(self) -> Any:
        """The body, parsed (raises json.JSONDecodeError if it is not JSON)."""
        return json.loads(self.body)


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

    def request(self, method: str, path: str, body: JsonBody = None) -> Response:
        """Sends a signed transaction request to path (relative to the base URL, e.g.
        "/virtual-accounts/bi-snap-va/v1.1/transfer-va/create-va") and returns DOKU's answer,
        whatever its HTTP status. On Invalid Token (401xx01) the core fetches a new token and
        retries once. body: JSON text (str/bytes), a dict or list (encoded compactly with
        ensure_ascii=False), or None. Needs client_secret and channel_id.

        Raises InvalidArgumentError (missing client_secret/channel_id, bad method, path or
        body) and the transport errors of get_token()."""
        answer = json.loads(self._call(lib.doku_client_request, cstr(method, "method"),
                                       cstr(path, "path"), _json_body(body)))
        return Response(answer["httpStatus"], answer.get("responseCode"), answer["body"])

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

