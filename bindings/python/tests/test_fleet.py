"""Several processes, each with its own token cache, against a DOKU that honours only a client's
latest token (doku-sandbox --latest-token-only, as DOKU documents): each process's token
revokes the others', so every call after the first round is refused as Invalid Token and
retried with a new token, which revokes the next process's. Counted by the sandbox. A shared
token store ("file:/dir") removes the churn: one token for the whole fleet."""

import json
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


class Fleet:
    """Processes, each running target(config, turns, results) over two pipes; told to stop, and
    checked to have exited cleanly, when the with block ends."""

    def __init__(self, target, configs) -> None:
        ctx = multiprocessing.get_context("spawn")  # separate processes, as PHP-FPM workers are
        self.pipes, self.procs = [], []
        for config in configs:
            turns_parent, turns_child = ctx.Pipe()
            results_parent, results_child = ctx.Pipe()
            proc = ctx.Process(target=target, args=(config, turns_child, results_child))
            proc.start()
            self.pipes.append((turns_parent, results_parent))
            self.procs.append(proc)

    def __enter__(self) -> list:
        return self.pipes

    def __exit__(self, kind, value, traceback) -> None:
        for turns, _ in self.pipes:
            turns.send(False)
        for proc in self.procs:
            proc.join(30)
        if kind is None:
            assert all(p.exitcode == 0 for p in self.procs), [p.exitcode for p in self.procs]


def run_fleet(sandbox: Sandbox, keys, token_store=None) -> list:
    """PROCESSES processes, each its own Client, calling in turn for ROUNDS rounds; the answers in
    the order of the calls."""
    configs = [dict(client_id=CLIENT, private_key_file=str(keys.pkcs8), base_url=sandbox.url,
                    ca_file=sandbox.ca_file, proxy="", client_secret=SECRET, channel_id="H2H",
                    timeout_ms=10000 + i,  # timeout_ms only makes each process's trxIds its own
                    token_store=token_store) for i in range(PROCESSES)]
    answers = []
    with Fleet(worker, configs) as pipes:
        for _ in range(ROUNDS):
            for turns, results in pipes:
                turns.send(True)
                assert results.poll(30), "a fleet process did not answer"
                answers.append(results.recv())
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


# The fleet of issue 11: GROUPS hosts of PER_GROUP processes of THREADS threads each, calling
# get_token at once in each token window of a short-lived token (TTL s, due MARGIN s before its
# expiry). The sandbox counts the token requests.
GROUPS, PER_GROUP, THREADS, TTL, MARGIN = 3, 4, 4, 4, 1
FLEET = "py-fleet-windows"


def window_worker(config: dict, turns, results) -> None:
    """One process: in each window, THREADS threads call get_token; it reports the tokens seen, any
    error, and the library's events (logging "doku_snap") of the window."""
    import logging
    import threading
    import doku_snap
    events = []

    class Events(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            events.append(record.event)
    log = logging.getLogger("doku_snap")
    log.addHandler(Events())
    log.setLevel(logging.DEBUG)
    with doku_snap.Client(config) as client:
        while turns.recv():
            seen, errors = set(), []
            events.clear()

            def calls() -> None:
                for _ in range(25):
                    try:
                        seen.add(client.get_token())
                    except Exception as e:  # reported to the parent, which fails the test
                        errors.append(repr(e))
            threads = [threading.Thread(target=calls) for _ in range(THREADS)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            results.send((sorted(seen), errors, list(events)))


def run_windows(sandbox: Sandbox, keys, store_of_group, windows: int, between=lambda window: None, events=None) -> list:
    """GROUPS × PER_GROUP processes, group g with token_store store_of_group(g); `windows` rounds,
    round w at a token lifetime minus the margin, plus 0.3 s, times w after round 0 ended (the
    token of the previous round is then due or expired); between(w) runs before round w.
    Returns the token requests of each round; `events`, if given, gets each round's list of
    each process's events."""
    import time
    configs = [dict(client_id=FLEET, private_key_file=str(keys.pkcs8), base_url=sandbox.url, ca_file=sandbox.ca_file,
                    proxy="", refresh_margin_s=MARGIN, token_store=store_of_group(g))
               for g in range(GROUPS) for _ in range(PER_GROUP)]
    requests, tokens = [], set()
    with Fleet(window_worker, configs) as pipes:
        first = 0.0  # when round 0 ended: its token was issued before
        for w in range(windows):
            time.sleep(max(0.0, first + w * (TTL - MARGIN + 0.3) - time.monotonic()))
            between(w)
            before = sandbox.requests(FLEET)
            for turns, _ in pipes:
                turns.send(True)
            round_events = []
            for _, results in pipes:
                assert results.poll(30), "a fleet process did not answer"
                seen, errors, logged = results.recv()
                assert errors == [], errors
                tokens.update(seen)
                round_events.append(logged)
            if events is not None:
                events.append(round_events)
            requests.append(sandbox.requests(FLEET) - before)
            first = first or time.monotonic()
    assert len(tokens) == sum(requests), "every token fetched was one the fleet used"
    return requests


@pytest.fixture
def window_sandbox(keys, tmp_path: Path):
    sb = Sandbox(_binary(), tmp_path, ["--quiet", "--tls-dir", str(tmp_path / "tls"), "--client", f"{FLEET}={keys.public}",
                                       "--token-ttl", str(TTL)])
    yield sb
    sb.stop()


def test_the_fleet_makes_one_token_request_per_window_with_redis(window_sandbox, keys, redis):
    assert run_windows(window_sandbox, keys, lambda g: redis.url, 3) == [1, 1, 1]
    keys_in_redis = redis.cli("KEYS", "doku-snap:*").split()
    assert len(keys_in_redis) == 1 and keys_in_redis[0].endswith(":token"), keys_in_redis


def test_each_host_makes_one_token_request_per_window_with_a_file_store(window_sandbox, keys, tmp_path):
    assert run_windows(window_sandbox, keys, lambda g: f"file:{tmp_path}/host-{g}", 3) == [GROUPS] * 3


def test_each_process_makes_its_own_token_requests_without_a_store(window_sandbox, keys):
    assert run_windows(window_sandbox, keys, lambda g: "memory", 2) == [GROUPS * PER_GROUP] * 2


def test_a_redis_outage_fails_no_call_and_sharing_resumes(window_sandbox, keys, redis):
    """redis-server killed before round 1 and started again (empty) before round 2."""
    def outage(window: int) -> None:
        if window == 1:
            redis.kill()
        if window == 2:
            redis.restart()
    events: list = []
    requests = run_windows(window_sandbox, keys, lambda g: redis.url, 4, outage, events)
    assert requests[0] == 1 and requests[2:] == [1, 1], requests
    # During the outage every process fetched for itself; none failed (run_windows checks).
    assert requests[1] == GROUPS * PER_GROUP, requests
    # The log says so: in round 0 one process fetched and the others read its token from the
    # store; in round 1 each warned once that the store was unavailable, and fetched; in round 2
    # each said the store was back, once.
    every = GROUPS * PER_GROUP
    flat = [[e for e in process if e != "stale_token_served"] for process in events[0]]
    assert sorted(map(tuple, flat)) == sorted([("token_fetched",)] + [("token_from_store",)] * (every - 1)), events[0]
    assert all(p.count("store_unavailable") == 1 and "token_fetched" in p for p in events[1]), events[1]
    assert all(p.count("store_recovered") == 1 and "store_unavailable" not in p for p in events[2]), events[2]
    assert sum(p.count("token_fetched") for p in events[2]) == 1, events[2]


def test_a_lock_owner_killed_mid_fetch_holds_no_one_up_past_its_lock(keys, tmp_path, redis):
    """A process that holds the Redis lock and is killed (SIGKILL) in the middle of its fetch: the
    lock expires at that process's deadline (its timeout_ms, 1.5 s), and the next process takes it
    then, instead of waiting for half its own, longer, timeout_ms."""
    import subprocess
    import sys
    import time
    client = "py-fleet-killed"
    sb = Sandbox(_binary(), tmp_path, ["--quiet", "--tls-dir", str(tmp_path / "tls"), "--client", f"{client}={keys.public}",
                                       "--fault", f"{client}=delay:1000"])
    try:
        config = dict(client_id=client, private_key_file=str(keys.pkcs8), base_url=sb.url, ca_file=sb.ca_file, proxy="",
                      token_store=redis.url)
        owner = subprocess.Popen([sys.executable, "-c", "import doku_snap, json, sys; "
                                  "doku_snap.Client(json.loads(sys.argv[1])).get_token()",
                                  json.dumps(dict(config, timeout_ms=1500))])
        deadline = time.monotonic() + 10
        while not any(k.endswith(":lock") for k in redis.cli("KEYS", "doku-snap:*").split()):
            assert time.monotonic() < deadline and owner.poll() is None, "the owner never took the lock"
            time.sleep(0.01)
        lock_ms = int(redis.cli("PTTL", [k for k in redis.cli("KEYS", "doku-snap:*").split() if k.endswith(":lock")][0]))
        owner.kill()
        owner.wait()
        import doku_snap
        start = time.monotonic()
        with doku_snap.Client(dict(config, timeout_ms=20000)) as waiter:
            waiter.get_token()
        took = time.monotonic() - start
        # What was left of the dead owner's lock, then its own fetch (1 s of sandbox delay); not
        # the 10 s (half its timeout_ms) it would wait for a lock that never expired.
        assert lock_ms / 1000 + 0.5 < took < lock_ms / 1000 + 2.5, (lock_ms, took)
    finally:
        sb.stop()
