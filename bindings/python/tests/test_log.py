"""The library's events on logging.getLogger("doku_snap"), and Client.stats(), against the sandbox.

Each test has a client id of its own (conftest.CLIENTS): the token cache entry, and so its
counters, is process-wide per (base URL, client id, key).
"""

import logging
import re
import threading

import pytest

import doku_snap
from doku_snap import _log, _native
from conftest import SECRETS

CREATE_VA = "/virtual-accounts/bi-snap-va/v1.1/transfer-va/create-va"
FETCHED = re.compile(r"token fetched from DOKU by this process in \d+\.\d{3} ms, expiresIn 900 s")


def events(caplog, *names):
    """The doku_snap records of these events (all events without names), oldest first."""
    return [r for r in caplog.records if r.name == "doku_snap" and (not names or r.event in names)]


def without_duration(stats):
    assert isinstance(stats["lastFetchMs"], float) and stats["lastFetchMs"] > 0, stats
    return {k: v for k, v in stats.items() if k != "lastFetchMs"}


def test_a_fetch_is_logged_at_info_and_counted_exactly(make_client, caplog):
    caplog.set_level(logging.DEBUG, logger="doku_snap")
    client = make_client("py-log")
    assert client.stats() == {"inProcessHits": 0, "storeHits": 0, "fetches": 0, "fetchFailures": 0,
                              "storeErrors": 0, "lastFetchMs": None, "lastStoreError": None}
    token = client.get_token()
    fetched = events(caplog)
    assert [(r.levelno, r.event) for r in fetched] == [(logging.INFO, "token_fetched")]
    assert FETCHED.fullmatch(fetched[0].getMessage()), fetched[0].getMessage()
    assert fetched[0].thread == threading.get_ident(), "logged on the calling thread"
    assert without_duration(client.stats()) == {"inProcessHits": 0, "storeHits": 0, "fetches": 1,
                                                 "fetchFailures": 0, "storeErrors": 0, "lastStoreError": None}
    # The cached path: one hit per call, no event.
    assert client.get_token() == token
    client.token_info()
    assert without_duration(client.stats())["inProcessHits"] == 2
    assert without_duration(client.stats())["fetches"] == 1
    assert len(events(caplog)) == 1
    # Another client of the same key shares the entry and its counters.
    assert make_client("py-log").stats()["inProcessHits"] == 2
    assert token not in caplog.text


def test_a_failed_fetch_is_logged_at_error_and_counted(make_client, caplog):
    caplog.set_level(logging.DEBUG, logger="doku_snap")
    client = make_client("py-log-fail")
    with pytest.raises(doku_snap.ProtocolError) as info:
        client.get_token()
    message = str(info.value)
    assert message.startswith("DOKU answered HTTP 500"), message
    failed = events(caplog)
    assert [(r.levelno, r.event) for r in failed] == [(logging.ERROR, "token_fetch_failed")]
    assert re.fullmatch(r"token request failed after \d+\.\d{3} ms: " + re.escape(message), failed[0].getMessage()), \
        failed[0].getMessage()
    assert without_duration(client.stats()) == {"inProcessHits": 0, "storeHits": 0, "fetches": 0,
                                                 "fetchFailures": 1, "storeErrors": 0, "lastStoreError": None}


def test_events_come_on_the_thread_that_made_the_call(make_client, caplog):
    caplog.set_level(logging.DEBUG, logger="doku_snap")
    client = make_client("py-log-thread")
    seen = {}

    def work():
        seen["ident"] = threading.get_ident()
        client.get_token()

    t = threading.Thread(target=work)
    t.start()
    t.join()
    fetched = events(caplog, "token_fetched")
    assert len(fetched) == 1 and fetched[0].thread == seen["ident"] != threading.get_ident()


def test_an_invalid_token_retry_is_logged_at_warning(make_client, sandbox, caplog):
    caplog.set_level(logging.DEBUG, logger="doku_snap")
    client = make_client("py-log-retry", client_secret=SECRETS["py-log-retry"], channel_id="H2H")
    client.get_token()
    assert sandbox.post("/sandbox/v1/revoke?client=py-log-retry")["revoked"] >= 1
    caplog.clear()
    client.request("POST", CREATE_VA, {"trxId": "INV/LOG/2"})
    assert [(r.levelno, r.event) for r in events(caplog)] == [
        (logging.WARNING, "invalid_token_retry"), (logging.INFO, "token_fetched")]
    assert events(caplog)[0].getMessage() == (
        "DOKU refused the token of a POST request (HTTP 401, responseCode 4012701): "
        "dropping it and retrying once with a new one")
    assert client.stats()["fetches"] == 2
    assert SECRETS["py-log-retry"] not in caplog.text


def test_the_logger_level_filters(make_client, caplog):
    caplog.set_level(logging.WARNING, logger="doku_snap")
    with pytest.raises(doku_snap.ProtocolError):
        make_client("py-log-fail").get_token()
    assert [r.event for r in events(caplog)] == ["token_fetch_failed"]
    caplog.clear()
    caplog.set_level(logging.CRITICAL, logger="doku_snap")
    with pytest.raises(doku_snap.ProtocolError):
        make_client("py-log-fail").get_token()
    assert events(caplog) == []


def test_an_unconfigured_application_sees_nothing_on_stderr(tls_sandbox, keys):
    """No handler configured: a failing fetch's ERROR record is not printed (logging's last
    resort would), the exception is the application's to report."""
    import subprocess
    import sys
    script = ("import doku_snap, sys\n"
              "c = doku_snap.Client(client_id='py-nobody', private_key_file=sys.argv[1], base_url=sys.argv[2],"
              " ca_file=sys.argv[3], proxy='')\n"
              "try:\n    c.get_token()\nexcept doku_snap.ApiError as e:\n    print(e.response_code)\n")
    r = subprocess.run([sys.executable, "-c", script, str(keys.pkcs8), tls_sandbox.url, tls_sandbox.ca_file],
                       text=True, capture_output=True, timeout=60)
    assert (r.returncode, r.stdout, r.stderr) == (0, "4017300\n", "")


def test_the_callback_is_installed_on_import_and_levels_map(make_client, caplog):
    caplog.set_level(logging.DEBUG, logger="doku_snap")
    assert _log.LEVELS == {1: logging.ERROR, 2: logging.WARNING, 3: logging.INFO, 4: logging.DEBUG}
    # An invalid minimum level is refused by the library, by status and message.
    status = _native.lib.doku_set_log_callback(_log._CALLBACK, None, 7)
    assert status == doku_snap.Status.INVALID_ARGUMENT
    assert _native.lib.doku_last_error().decode() == \
        "min_level 7 is not a DokuLogLevel (1 = DOKU_LOG_ERROR to 4 = DOKU_LOG_DEBUG)"
    # The refused call left the installed callback as it was.
    make_client("py-log-level").get_token()
    assert [r.event for r in events(caplog)] == ["token_fetched"]
