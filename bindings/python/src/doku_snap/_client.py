"""Client: a DokuClient handle, shared safely between threads and closed exactly once."""

from __future__ import annotations

import ctypes
import json
import os
import threading
from typing import Any, Dict, Mapping, Optional

from ._native import call_string, check, cstr, lib
from .errors import ClientClosedError, InvalidArgumentError, Status


def _config_json(config: Mapping[str, Any]) -> bytes:
    clean: Dict[str, Any] = {}
    for key, value in config.items():
        if value is None:  # "not set", so that e.g. ca_file=os.environ.get(...) just works
            continue
        if isinstance(value, os.PathLike):
            value = os.fsdecode(value)
        if isinstance(value, str):
            cstr(value, key)  # NUL / lone surrogates: refuse here, as for every string we pass
        clean[cstr(key, "config key").decode()] = value
    try:
        # Key names, types and values are checked by the core, which names the offending key.
        text = json.dumps(clean, ensure_ascii=False)
    except (TypeError, ValueError) as e:
        raise InvalidArgumentError(f"config is not JSON-serialisable: {e}",
                                   Status.INVALID_ARGUMENT) from None
    return text.encode("utf-8")


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
        check(lib.doku_client_new(_config_json(merged), ctypes.byref(out)))
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
        handle = self._acquire()
        try:
            return call_string(lib.doku_get_token, handle)
        finally:
            self._release()

    def token_info(self) -> Dict[str, Any]:
        """The current token as {"accessToken", "tokenType", "expiresIn", "expiresAt"},
        fetching one as get_token() does."""
        handle = self._acquire()
        try:
            info: Dict[str, Any] = json.loads(call_string(lib.doku_token_info, handle))
            return info
        finally:
            self._release()

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

