"""Several processes, each with its own token cache, against a DOKU that honours only a client's
latest token (doku-sandbox --latest-token-only, as DOKU documents): each process's token
revokes the others', so every call after the first round is refused as Invalid Token and
retried with a new token, which revokes the next process's. Counted by the sandbox. A shared
token store ("file:/dir") removes the churn: one token for the whole fleet."""

import multiprocessing
from pathlib import Path

import pytest

from conftest import Sandbox, _binary

CREATE_VA = "/virtual-accounts/bi-snap-va/v1.1/transfer-va/create-va"
PROCESSES, ROUNDS = 4, 3
CLIENT, SECRET = "py-fleet", "SK-py-fleet"


def worker(config: dict, turns, results) -> None:
    """One process of the fleet: a create-VA call each time the parent says so."""
    import doku_snap
    with doku_snap.Client(config) as client:
        n = 0
        while turns.recv():
            n += 1
            body = {"partnerServiceId": "  888994", "customerNo": "1", "virtualAccountNo": "  8889941",
                    "virtualAccountName": "Fleet", "trxId": f"FLEET-{config['timeout_ms']}-{n}",
                    "totalAmount": {"value": "10000.00", "currency": "IDR"}}
            r = client.request("POST", CREATE_VA, body)
            results.send((r.http_status, r.response_code))


def run_fleet(sandbox: Sandbox, keys, token_store=None) -> list:
    """PROCESSES processes, each its own Client, calling in turn for ROUNDS rounds; the answers in
    the order of the calls."""
    ctx = multiprocessing.get_context("spawn")  # separate processes, as PHP-FPM workers are
    pipes, procs = [], []
    for i in range(PROCESSES):
        config = dict(client_id=CLIENT, private_key_file=str(keys.pkcs8), base_url=sandbox.url,
                      ca_file=sandbox.ca_file, proxy="", client_secret=SECRET, channel_id="H2H",
                      timeout_ms=10000 + i,  # timeout_ms only makes each process's trxIds its own
                      token_store=token_store)
        turns_parent, turns_child = ctx.Pipe()
        results_parent, results_child = ctx.Pipe()
        proc = ctx.Process(target=worker, args=(config, turns_child, results_child))
        proc.start()
        pipes.append((turns_parent, results_parent))
        procs.append(proc)
    answers = []
    try:
        for _ in range(ROUNDS):
            for turns, results in pipes:
                turns.send(True)
                assert results.poll(30), "a fleet process did not answer"
                answers.append(results.recv())
    finally:
        for turns, _ in pipes:
            turns.send(False)
        for proc in procs:
            proc.join(30)
    assert all(p.exitcode == 0 for p in procs), [p.exitcode for p in procs]
    return answers


@pytest.fixture
def fleet_sandbox(keys, tmp_path: Path, request):
    args = ["--quiet", "--tls-dir", str(tmp_path / "tls"), "--client", f"{CLIENT}={keys.public}",
            "--secret", f"{CLIENT}={SECRET}", *request.param]
    sb = Sandbox(_binary(), tmp_path, args)
    yield sb
    sb.stop()


@pytest.mark.parametrize("fleet_sandbox", [["--latest-token-only"]], indirect=True)
def test_per_process_caches_churn_when_only_the_latest_token_counts(fleet_sandbox, keys):
    answers = run_fleet(fleet_sandbox, keys)
    # Every call succeeds, thanks to the Invalid-Token retry...
    assert answers == [(200, "2002700")] * (PROCESSES * ROUNDS)
    stats = fleet_sandbox._stats()
    # ...but after the first round each call is refused once and fetches a token.
    assert stats["tokenRequests"][CLIENT] == PROCESSES * ROUNDS, stats
    assert stats["invalidTokenAnswers"][CLIENT] == PROCESSES * (ROUNDS - 1), stats


@pytest.mark.parametrize("fleet_sandbox", [[]], indirect=True)
def test_per_process_caches_fetch_once_each_when_every_token_counts(fleet_sandbox, keys):
    answers = run_fleet(fleet_sandbox, keys)
    assert answers == [(200, "2002700")] * (PROCESSES * ROUNDS)
    stats = fleet_sandbox._stats()
    assert stats["tokenRequests"][CLIENT] == PROCESSES, stats
    assert stats["invalidTokenAnswers"].get(CLIENT, 0) == 0, stats


@pytest.mark.parametrize("fleet_sandbox", [["--latest-token-only"]], indirect=True)
def test_a_file_store_gives_the_fleet_one_token(fleet_sandbox, keys, tmp_path):
    store = tmp_path / "tokens"
    answers = run_fleet(fleet_sandbox, keys, token_store=f"file:{store}")
    assert answers == [(200, "2002700")] * (PROCESSES * ROUNDS)
    stats = fleet_sandbox._stats()
    assert stats["tokenRequests"][CLIENT] == 1, stats
    assert stats["invalidTokenAnswers"].get(CLIENT, 0) == 0, stats
    # What is stored: one sealed entry, readable by this user only, without the token in clear.
    entries = sorted(p.name for p in store.iterdir() if p.suffix == ".token")
    assert len(entries) == 1, entries
    assert (store / entries[0]).stat().st_mode & 0o777 == 0o600
    assert store.stat().st_mode & 0o777 == 0o700
    assert b"eyJ" not in (store / entries[0]).read_bytes()
