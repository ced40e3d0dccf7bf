"""Python side of the transport benchmark in `make bench` (issue 15): signed create-VA calls
against the TLS sandbox, one thread, in three patterns side by side:

- reused: one doku_snap.Client for every call (keep-alive);
- new_client: a new doku_snap.Client per call, as per-request handlers build one;
- sdk_way: what DOKU's official Python SDK does, a new connection per call (requests.post
  without a Session), with headers signed by doku_snap so that only the transport differs.

Also the latency of a new client's first call in a process whose agent is warm (median and 99th
percentile). Prints "name value" lines.
Usage: transport_python.py URL CA_FILE KEYFILE CLIENT_ID SECRET SECONDS"""
import statistics
import sys
import time

import requests

import doku_snap

url, ca, key_file, client_id, secret, seconds = sys.argv[1:7]
seconds = float(seconds)
config = dict(client_id=client_id, private_key_file=key_file, base_url=url, ca_file=ca, proxy="",
              client_secret=secret, channel_id="H2H", timeout_ms=10000)
PATH = "/virtual-accounts/bi-snap-va/v1.1/transfer-va/create-va"
n = 0


def body() -> str:
    global n
    n += 1
    return ('{"partnerServiceId":"  888994","customerNo":"1","virtualAccountNo":"  8889941",'
            '"virtualAccountName":"Bench","trxId":"PY-%d","totalAmount":{"value":"10000.00","currency":"IDR"}}' % n)


def check(status: int, text: str) -> None:
    if status != 200 or '"2002700"' not in text:
        raise SystemExit(f"unexpected answer {status}: {text[:200]}")


def rate(call) -> float:
    calls, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        call()
        calls += 1
    return calls / (time.perf_counter() - start)


reused = doku_snap.Client(config)


def reused_call() -> None:
    r = reused.request("POST", PATH, body())
    check(r.http_status, r.body)


def new_client_call() -> None:
    with doku_snap.Client(config) as c:
        r = c.request("POST", PATH, body())
        check(r.http_status, r.body)


def sdk_call() -> None:
    b = body()
    headers = reused.request_headers("POST", PATH, b)
    r = requests.post(url + PATH, data=b.encode(), headers=headers, verify=ca, timeout=10)
    check(r.status_code, r.text)


reused_call()  # the token and the agent are warm for every pattern
for name, call in [("reused", reused_call), ("new_client", new_client_call), ("sdk_way", sdk_call)]:
    print(f"python_{name}_per_s", rate(call))
first = []
for _ in range(200):
    t0 = time.perf_counter()
    new_client_call()
    first.append((time.perf_counter() - t0) * 1e6)
first.sort()
print("python_new_client_first_call_median_us", statistics.median(first))
print("python_new_client_first_call_p99_us", first[int(len(first) * 0.99) - 1])
reused.close()
