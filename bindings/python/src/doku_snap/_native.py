"""Loads libdoku, declares every C function, and holds the one error-check path."""

from __future__ import annotations

import ctypes
import json
import os
import sys
from pathlib import Path
from typing import Any, Mapping, Optional, Union

from .errors import InvalidArgumentError, Status, error_for

# The declarations below match include/doku.h 0.1.x. 0.x releases may break the ABI at a minor
# version, and a mismatched ABI fails as a crash, not an error: refuse any other 0.minor.
ABI = (0, 1)

_SUFFIX = {"darwin": ".dylib", "win32": ".dll"}.get(sys.platform, ".so")
BUNDLED = Path(__file__).with_name("libdoku" + _SUFFIX)


def _load() -> ctypes.CDLL:
    # DOKU_LIBRARY wins over the bundled copy: setting it is an explicit request (a debug or
    # sanitizer build, a patched system library) that must not be silently ignored because a
    # wheel happens to ship one. If it is set but cannot be loaded we fail rather than fall
    # back, for the same reason.
    explicit = os.environ.get("DOKU_LIBRARY")
    if explicit:
        path, origin = explicit, "DOKU_LIBRARY"
    elif BUNDLED.is_file():
        path, origin = str(BUNDLED), "the bundled copy"
    else:
        raise ImportError(
            f"doku_snap: libdoku not found: {BUNDLED} is missing and DOKU_LIBRARY is not set. "
            "Install the package with pip (it builds libdoku with cargo) or set DOKU_LIBRARY "
            "to the path of libdoku.so")
    try:
        # CDLL (not PyDLL) releases the GIL for the duration of each call: get_token may wait
        # on the network, and other Python threads must keep running meanwhile.
        lib = ctypes.CDLL(path)
    except OSError as e:
        raise ImportError(f"doku_snap: cannot load libdoku from {path} ({origin}): {e}") from e
    _declare(lib, path)
    return lib


_OUT = ctypes.POINTER(ctypes.c_void_p)  # char ** / DokuClient **: read back as c_void_p
_S = ctypes.c_char_p
_H = ctypes.c_void_p  # DokuClient *
_STATUS = ctypes.c_int  # enum DokuStatus
# void (*DokuLogCallback)(void *user_data, enum DokuLogLevel level, const char *event,
#                         const char *message)
LOG_CALLBACK = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_char_p)

# name: (argtypes, restype). Borrowed `const char *` results use c_char_p, which copies them
# into bytes at once; owned `char *` results come through _OUT and go back to doku_free.
_FUNCTIONS = {
    "doku_version": ([], _S),
    "doku_last_error": ([], _S),
    "doku_last_response_code": ([], _S),
    "doku_status_name": ([ctypes.c_int], _S),
    "doku_timestamp": ([_OUT], _STATUS),
    "doku_sign": ([_S, _S, _S, _OUT], _STATUS),
    "doku_client_new": ([_S, _OUT], _STATUS),
    "doku_get_token": ([_H, _OUT], _STATUS),
    "doku_token_info": ([_H, _OUT], _STATUS),
    "doku_client_invalidate_token": ([_H], _STATUS),
    "doku_client_stats": ([_H, _OUT], _STATUS),
    "doku_set_log_callback": ([LOG_CALLBACK, ctypes.c_void_p, ctypes.c_int], _STATUS),
    "doku_client_free": ([_H], None),
    "doku_free": ([ctypes.c_void_p], None),
    "doku_minify": ([_S, _OUT], _STATUS),
    "doku_sign_request": ([_S, _S, _S, _S, _S, _S, _OUT], _STATUS),
    "doku_verify": ([_S, _S, _S, _S], _STATUS),
    "doku_verify_request": ([_S, _S, _S, _S, _S, _S, _S], _STATUS),
    "doku_client_request_headers": ([_H, _S, _S, _S, _OUT], _STATUS),
    # method, path, body, options_json
    "doku_client_request": ([_H, _S, _S, _S, _S, _OUT], _STATUS),
    # operation, body_json, options_json
    "doku_client_call": ([_H, _S, _S, _S, _OUT], _STATUS),
    "doku_operations": ([_OUT], _STATUS),
    "doku_issue_token": ([_S, _S, _S, ctypes.POINTER(ctypes.c_int), _OUT], _STATUS),
    "doku_validate_token": ([_S, _S, _OUT], _STATUS),
    # body, body_len: c_char_p passes a bytes object's buffer as it is, NUL bytes included
    "doku_merchant_verify": ([_S, _S, _S, _S, _S, ctypes.c_size_t, _OUT], _STATUS),
    "doku_merchant_answer": ([_S, _S, _S, _OUT], _STATUS),
    "doku_get_token_b2b2c": ([_H, _S, _OUT], _STATUS),
    "doku_refresh_token_b2b2c": ([_H, _S, _OUT], _STATUS),
}


def _declare(lib: ctypes.CDLL, path: str) -> None:
    for name, (argtypes, restype) in _FUNCTIONS.items():
        try:
            fn = getattr(lib, name)
        except AttributeError:
            raise ImportError(f"doku_snap: {path} has no {name}: not a compatible libdoku") from None
        fn.argtypes, fn.restype = argtypes, restype
    version = lib.doku_version().decode()
    if tuple(int(p) for p in version.split(".")[:2]) != ABI:
        raise ImportError(f"doku_snap: {path} is libdoku {version}; this binding needs "
                          f"{ABI[0]}.{ABI[1]}.x")


lib = _load()


def check(status: int) -> None:
    """Raises the exception for a failed call. Call it right after the call, on the same
    thread: the details are thread-local and the next doku_* call replaces them. (The core
    clears them at the start of every fallible call, so there is nothing to clear here.)"""
    if status == Status.OK:
        return
    message = lib.doku_last_error().decode("utf-8", "replace")
    response_code = lib.doku_last_response_code().decode("utf-8", "replace")
    if not message:  # e.g. a status passed in by a test: still say what failed
        message = lib.doku_status_name(status).decode()
    raise error_for(status, message, response_code)


def call_string(fn: Any, *args: Any) -> str:
    """Calls fn(*args, &out) and returns *out as str, freeing it whatever happens."""
    out = ctypes.c_void_p()
    try:
        check(fn(*args, ctypes.byref(out)))
        return ctypes.string_at(out).decode("utf-8")
    finally:
        lib.doku_free(out)  # NULL-safe; on failure the core left out NULL


def utf8(text: str, name: str) -> bytes:
    """`text` as UTF-8; a lone surrogate is the caller's InvalidArgumentError."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise InvalidArgumentError(f"{name} is not valid Unicode: {e.reason}",
                                   Status.INVALID_ARGUMENT) from None


def cstr(value: Union[str, bytes, bytearray], name: str) -> bytes:
    """A str/bytes argument as NUL-terminated UTF-8; NUL would silently truncate it in C."""
    if isinstance(value, str):
        value = utf8(value, name)
    elif not isinstance(value, (bytes, bytearray)):
        raise InvalidArgumentError(f"{name} must be str, not {type(value).__name__}",
                                   Status.INVALID_ARGUMENT)
    if b"\0" in value:
        raise InvalidArgumentError(f"{name} contains a NUL character", Status.INVALID_ARGUMENT)
    return bytes(value)


def json_object(what: str, options: Mapping[str, Any]) -> bytes:
    """A mapping of names to values (the client's config, the token options) as the JSON object
    the core reads. The core checks the keys, types and ranges (one validator, the C API's
    words); only what JSON cannot carry is refused here. None is JSON null, which the core
    reads as unset (a misspelt key is still refused); os.PathLike values become str. No message
    quotes a value: options hold key text and passphrases."""
    if not isinstance(options, Mapping):
        raise InvalidArgumentError(
            f"{what} must be a mapping of option names to values, not {type(options).__name__}",
            Status.INVALID_ARGUMENT)
    members = []
    for key, value in options.items():
        if not isinstance(key, str):
            raise InvalidArgumentError(f"{what}: keys must be str, not {type(key).__name__}",
                                       Status.INVALID_ARGUMENT)
        if isinstance(value, os.PathLike):  # e.g. a pathlib.Path for a *_file key
            value = os.fsdecode(value)
        try:
            name = json.dumps(key, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidArgumentError(f"{what}: a key is not valid Unicode (a lone surrogate)",
                                       Status.INVALID_ARGUMENT) from None
        if isinstance(value, str) and "\0" in value:  # a path or id cut short in C
            raise InvalidArgumentError(f"{what}: {key} contains a NUL character",
                                       Status.INVALID_ARGUMENT)
        try:
            encoded = json.dumps(value, ensure_ascii=False, allow_nan=False).encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidArgumentError(f"{what}: {key} is not valid Unicode (a lone surrogate)",
                                       Status.INVALID_ARGUMENT) from None
        except (TypeError, ValueError):  # their messages may quote the value: not used
            problem = ("is not a finite number" if isinstance(value, float)
                       else f"cannot be encoded as JSON ({type(value).__name__})")
            raise InvalidArgumentError(f"{what}: {key} {problem}", Status.INVALID_ARGUMENT) from None
        members.append(name + b":" + encoded)
    return b"{" + b",".join(members) + b"}"


# A JSON body: text or bytes as given (the core minifies what it gets), or None for no body.
Body = Union[str, bytes, bytearray, None]


def cbody(body: Body, name: str = "body") -> Optional[bytes]:
    """A body argument: None stays NULL (no body), text and bytes go through cstr."""
    return None if body is None else cstr(body, name)

