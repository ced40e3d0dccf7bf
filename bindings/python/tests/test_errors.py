"""Every exception class, each provoked for real except where the API cannot reach it."""

import socket
import time

import pytest

import doku_snap
from doku_snap import Status
from doku_snap._native import check


def assert_error(info, cls, status, fragment):
    assert type(info.value) is cls
    assert info.value.status == status and isinstance(info.value.status, Status)
    assert fragment in str(info.value), str(info.value)


# --- InvalidArgumentError -------------------------------------------------------------

@pytest.mark.parametrize("config, fragment", [
    ({"bogus": 1}, 'unknown key "bogus"'),
    ({"timeout_ms": "fast"}, "timeout_ms"),
    ({"timeout_ms": -5}, "timeout_ms"),
    ({"environment": "staging"}, "environment"),
    ({"base_url": "http://example.com"}, "base_url"),
    ({"client_id": 42}, "client_id"),
])
def test_bad_config(keys, config, fragment):
    with pytest.raises(doku_snap.DokuError) as info:
        doku_snap.Client({"client_id": "x", "private_key_file": keys.pkcs8, **config})
    assert_error(info, doku_snap.InvalidArgumentError, Status.INVALID_ARGUMENT, fragment)
    assert isinstance(info.value, ValueError)


def test_missing_client_id(keys):
    with pytest.raises(doku_snap.InvalidArgumentError) as info:
        doku_snap.Client(private_key_file=keys.pkcs8)
    assert_error(info, doku_snap.InvalidArgumentError, Status.INVALID_ARGUMENT, "client_id")


def test_unserialisable_config(keys):
    with pytest.raises(doku_snap.InvalidArgumentError) as info:
        doku_snap.Client(client_id="x", private_key_file=keys.pkcs8, timeout_ms={1, 2})
    assert_error(info, doku_snap.InvalidArgumentError, Status.INVALID_ARGUMENT, "JSON")


@pytest.mark.parametrize("args, name", [
    (("MCH\0X", "2024-01-01T00:00:00Z", "k"), "client_id"),
    (("MCH", "2024\0", "k"), "timestamp"),
    (("MCH", "2024-01-01T00:00:00Z", "-----BEGIN\0"), "private_key"),
])
def test_nul_in_sign_arguments(args, name):
    with pytest.raises(doku_snap.InvalidArgumentError) as info:
        doku_snap.sign(*args)
    assert_error(info, doku_snap.InvalidArgumentError, Status.INVALID_ARGUMENT, f"{name} contains a NUL")


def test_nul_in_config(keys):
    with pytest.raises(doku_snap.InvalidArgumentError) as info:
        doku_snap.Client(client_id="MCH\0", private_key_file=keys.pkcs8)
    assert_error(info, doku_snap.InvalidArgumentError, Status.INVALID_ARGUMENT, "client_id contains a NUL")


def test_empty_and_mistyped_sign_arguments(keys):
    with pytest.raises(doku_snap.InvalidArgumentError) as info:
        doku_snap.sign("", "2024-01-01T00:00:00Z", keys.pkcs8.read_text())
    assert_error(info, doku_snap.InvalidArgumentError, Status.INVALID_ARGUMENT, "client_id is empty")
    with pytest.raises(doku_snap.InvalidArgumentError) as info:
        doku_snap.sign("MCH", None, keys.pkcs8.read_text())
    assert_error(info, doku_snap.InvalidArgumentError, Status.INVALID_ARGUMENT, "timestamp must be str")
    with pytest.raises(doku_snap.InvalidArgumentError) as info:
        doku_snap.sign("MCH-\udc80", "2024-01-01T00:00:00Z", keys.pkcs8.read_text())
    assert_error(info, doku_snap.InvalidArgumentError, Status.INVALID_ARGUMENT, "client_id is not valid Unicode")


# --- InvalidKeyError ------------------------------------------------------------------

@pytest.mark.parametrize("key, extra, fragment", [
    ("ec", {}, "not an RSA"),
    ("rsa1024", {}, "1024"),
    ("encrypted", {"private_key_passphrase": "wrong"}, "passphrase"),
    ("encrypted", {}, "passphrase"),
])
def test_unusable_keys(keys, key, extra, fragment):
    with pytest.raises(doku_snap.DokuError) as info:
        doku_snap.Client(client_id="x", private_key_file=getattr(keys, key), **extra)
    assert_error(info, doku_snap.InvalidKeyError, Status.KEY, fragment)


def test_missing_key_file(keys):
    missing = keys.dir / "nope.pem"
    with pytest.raises(doku_snap.DokuError) as info:
        doku_snap.Client(client_id="x", private_key_file=missing)
    assert_error(info, doku_snap.InvalidKeyError, Status.KEY, "nope.pem")


@pytest.mark.parametrize("key, fragment", [("ec", "not an RSA"), ("rsa1024", "1024"), ("encrypted", "encrypted")])
def test_sign_with_unusable_key(keys, key, fragment):
    with pytest.raises(doku_snap.DokuError) as info:
        doku_snap.sign("MCH", "2024-01-01T00:00:00Z", getattr(keys, key).read_text())
    assert_error(info, doku_snap.InvalidKeyError, Status.KEY, fragment)


# --- transport and API errors, through the sandbox ------------------------------------

def test_connection_refused(keys):
    with socket.socket() as s:  # a port that was free a moment ago and is now closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with doku_snap.Client(client_id="x", private_key_file=keys.pkcs8, base_url=f"http://127.0.0.1:{port}",
                          proxy="") as client:
        with pytest.raises(doku_snap.DokuError) as info:
            client.get_token()
    assert_error(info, doku_snap.NetworkError, Status.NETWORK, "refused")


def test_connection_reset(make_client):
    with pytest.raises(doku_snap.DokuError) as info:
        make_client("py-reset").get_token()
    assert_error(info, doku_snap.NetworkError, Status.NETWORK, "closed or reset")


@pytest.mark.parametrize("client_id, timeout_ms", [("py-delay", 500), ("py-stall", 1000)])
def test_timeout(make_client, client_id, timeout_ms):
    client = make_client(client_id, timeout_ms=timeout_ms)
    start = time.monotonic()
    with pytest.raises(doku_snap.DokuError) as info:
        client.get_token()
    assert time.monotonic() - start < timeout_ms / 1000 + 1.5
    assert_error(info, doku_snap.DokuTimeoutError, Status.TIMEOUT, "timed out")
    assert isinstance(info.value, TimeoutError)


def test_tls_untrusted_then_trusted(tls_sandbox, keys):
    config = dict(client_id="py-tls", private_key_file=keys.pkcs8, base_url=tls_sandbox.url, proxy="")
    with doku_snap.Client(config) as client:
        with pytest.raises(doku_snap.DokuError) as info:
            client.get_token()
    assert_error(info, doku_snap.TlsError, Status.TLS, "certif")
    with doku_snap.Client(config, ca_file=tls_sandbox.ca_file) as client:
        assert client.get_token().startswith("eyJ")


@pytest.mark.parametrize("client_id, code, fragment", [
    ("py-unknown", "4017300", "Unknown Client"),
    ("py-error200", "5007300", "General Error"),
    ("py-clock", "4017300", "clock"),
])
def test_api_errors(make_client, client_id, code, fragment):
    with pytest.raises(doku_snap.DokuError) as info:
        make_client(client_id).get_token()
    assert_error(info, doku_snap.ApiError, Status.API, fragment)
    assert info.value.response_code == code


@pytest.mark.parametrize("client_id, fragment", [
    ("py-http500", "500"), ("py-badjson", "JSON"), ("py-notoken", "accessToken"), ("py-huge", "MiB"),
])
def test_protocol_errors(make_client, client_id, fragment):
    with pytest.raises(doku_snap.DokuError) as info:
        make_client(client_id).token_info()
    assert_error(info, doku_snap.ProtocolError, Status.PROTOCOL, fragment)
    assert info.value.response_code is None


# --- the mapping itself, for statuses no input reaches ---------------------------------

@pytest.mark.parametrize("status, cls", [
    (1, doku_snap.InvalidArgumentError), (2, doku_snap.InvalidArgumentError), (3, doku_snap.InvalidKeyError),
    (4, doku_snap.CryptoError), (5, doku_snap.NetworkError), (6, doku_snap.DokuTimeoutError),
    (7, doku_snap.TlsError), (8, doku_snap.ApiError), (9, doku_snap.ProtocolError),
    (10, doku_snap.SignatureInvalidError), (11, doku_snap.OutcomeUnknownError), (99, doku_snap.InternalError),
])
def test_status_mapping(status, cls):
    doku_snap.timestamp()  # a successful call: no details left on this thread
    with pytest.raises(doku_snap.DokuError) as info:
        check(status)
    assert type(info.value) is cls and info.value.status == status
    assert str(info.value) == "DOKU_" + ("OK" if status == 0 else "ERR_" + Status(status).name)


def test_unknown_status_and_ok():
    check(0)
    with pytest.raises(doku_snap.DokuError) as info:
        check(42)
    assert type(info.value) is doku_snap.DokuError and info.value.status == 42
    assert "UNKNOWN" in str(info.value)


def test_errors_pickle():
    import pickle
    e = doku_snap.ApiError("DOKU answered HTTP 401", Status.API, "4017300")
    copy = pickle.loads(pickle.dumps(e))
    assert type(copy) is doku_snap.ApiError and copy.response_code == "4017300" and str(copy) == str(e)


def test_every_status_has_its_own_exception_class():
    """A status added to the header and to Status but not to errors._CLASSES would surface as
    the bare DokuError: each status maps to a class of its own, carrying that status."""
    from doku_snap.errors import error_for
    classes = {}
    for status in Status:
        if status == Status.OK:
            continue
        error = error_for(int(status), "message")
        assert type(error) is not doku_snap.DokuError, f"{status.name} has no exception class"
        assert error.status == status and str(error) == "message"
        classes.setdefault(type(error), []).append(status.name)
    shared = {cls.__name__: names for cls, names in classes.items() if len(names) > 1}
    assert shared == {"InvalidArgumentError": ["NULL_ARGUMENT", "INVALID_ARGUMENT"]}, shared
