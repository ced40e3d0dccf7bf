import gc
import re
import threading
import time

import pytest

import doku_snap


def test_token_and_info(make_client):
    client = make_client("py-ok")
    token = client.get_token()
    assert token.startswith("eyJ")
    info = client.token_info()
    assert set(info) == {"accessToken", "tokenType", "expiresIn", "expiresAt"}
    assert info["accessToken"] == token and info["tokenType"] == "Bearer"
    assert 890 <= info["expiresIn"] <= 900
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", info["expiresAt"])


def test_expires_in_as_string(make_client):
    assert 890 <= make_client("py-expires-string").token_info()["expiresIn"] <= 900


def test_encrypted_key_with_passphrase(make_client, keys):
    client = make_client("py-enc", private_key_file=keys.encrypted, private_key_passphrase=keys.PASSPHRASE)
    assert client.get_token().startswith("eyJ")


def test_key_text_and_dict_config(sandbox, keys):
    config = {"client_id": "py-ok", "private_key": keys.bare.read_text(), "base_url": "http://unused.invalid"}
    # keyword arguments override the dict; None means "not set"
    with doku_snap.Client(config, base_url=sandbox.url, proxy="", ca_file=None) as client:
        assert client.get_token().startswith("eyJ")


def test_invalidate_fetches_a_new_token(make_client, sandbox):
    client = make_client("py-invalidate")
    client.get_token()
    before = sandbox.requests("py-invalidate")
    assert before == 1
    client.get_token()
    assert sandbox.requests("py-invalidate") == before  # cached
    client.invalidate_token()
    client.get_token()
    assert sandbox.requests("py-invalidate") == before + 1


def test_threads_share_one_request(make_client, sandbox):
    client = make_client("py-threads")  # delay:300, so that all threads pile up on a cold cache
    barrier = threading.Barrier(16)
    tokens, errors = [], []

    def work():
        try:
            barrier.wait()
            tokens.extend(client.get_token() for _ in range(64))
        except Exception as e:  # reported below: a thread's exception would be lost
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(tokens) == 16 * 64 and len(set(tokens)) == 1
    assert sandbox.requests("py-threads") == 1


def test_close_semantics(make_client):
    client = make_client("py-ok")
    client.close()
    client.close()  # idempotent
    assert client.closed and "closed" in repr(client)
    for call in (client.get_token, client.token_info, client.invalidate_token):
        with pytest.raises(doku_snap.ClientClosedError, match="closed") as info:
            call()
        assert isinstance(info.value, doku_snap.InvalidArgumentError)
        assert info.value.status == doku_snap.Status.NULL_ARGUMENT


def test_context_manager(sandbox, keys):
    with doku_snap.Client(client_id="py-ok", private_key_file=keys.pkcs8, base_url=sandbox.url, proxy="") as c:
        assert not c.closed and c.get_token()
    assert c.closed
    with pytest.raises(doku_snap.ClientClosedError):
        c.get_token()


def test_close_while_calls_are_in_flight(make_client):
    # close() from another thread must neither free the handle under a running call nor
    # block: in-flight calls finish, later ones get ClientClosedError.
    client = make_client("py-close")  # delay:300
    results = []

    def work():
        for _ in range(50):
            try:
                results.append(client.get_token())
            except doku_snap.ClientClosedError:
                results.append(None)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    time.sleep(0.1)  # the first fetch is now waiting on the sandbox
    start = time.monotonic()
    client.close()
    assert time.monotonic() - start < 0.1
    for t in threads:
        t.join()
    assert len(results) == 8 * 50 and None in results
    assert client._handle is None  # freed by the last call out


def test_del_frees_an_open_client(sandbox, keys):
    client = doku_snap.Client(client_id="py-ok", private_key_file=keys.pkcs8, base_url=sandbox.url, proxy="")
    client.get_token()
    del client
    gc.collect()
