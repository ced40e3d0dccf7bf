"""The library's events, routed to ``logging.getLogger("doku_snap")``; installed on import.

libdoku has one process-wide log callback. This module sets it once, to a function that logs
each event on the "doku_snap" logger, at the level it maps to (DOKU_LOG_ERROR: ERROR, WARN:
WARNING, INFO: INFO, DEBUG: DEBUG), with the event's stable name in ``extra={"event": ...}``
(``record.event``, ``%(event)s`` in a format): ``token_fetched``, ``token_fetch_failed``,
``token_from_store``, ``store_unavailable``, ``store_recovered``, ``stale_token_served``,
``invalid_token_retry``, ``clock_skew``, ``outcome_unknown`` (README.md, "Logs and stats"). The
library calls it only on the thread inside its own call, before that call returns: records carry
the calling thread. Messages never hold a key, passphrase, secret, password or token.

Filtering is left to logging (the logger's level, handlers, filters): the library delivers
every event, which costs nothing on the cached token path, where it raises none.
"""

from __future__ import annotations

import atexit
import logging
from typing import Optional

from ._native import LOG_CALLBACK, check, lib

logger = logging.getLogger("doku_snap")
# As the logging HOWTO asks of libraries: nothing reaches stderr (logging's last resort) unless
# the application configures logging; records still propagate to its handlers.
logger.addHandler(logging.NullHandler())

# enum DokuLogLevel -> logging level
LEVELS = {1: logging.ERROR, 2: logging.WARNING, 3: logging.INFO, 4: logging.DEBUG}
_DEBUG = 4  # DOKU_LOG_DEBUG: every event


def _forward(_user_data: Optional[int], level: int, event: Optional[bytes], message: Optional[bytes]) -> None:
    # An exception must not escape into C (ctypes would print it and carry on): contain it.
    try:
        py_level = LEVELS.get(level, logging.WARNING)
        if logger.isEnabledFor(py_level):
            name = (event or b"").decode("utf-8", "replace")
            logger.log(py_level, "%s", (message or b"").decode("utf-8", "replace"), extra={"event": name})
    except Exception:  # pragma: no cover - a failing handler
        pass


# Kept for the life of the process: the C library holds a pointer to it.
_CALLBACK = LOG_CALLBACK(_forward)


def install() -> None:
    """Sets the library's log callback to the "doku_snap" logger (done on import)."""
    check(lib.doku_set_log_callback(_CALLBACK, None, _DEBUG))


def uninstall() -> None:
    """Removes the callback: the library then logs nothing. Done at interpreter exit, so that no
    late call into the library reaches a Python that is shutting down."""
    check(lib.doku_set_log_callback(LOG_CALLBACK(), None, _DEBUG))


install()
atexit.register(uninstall)
