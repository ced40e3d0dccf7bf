"""Python side of the operations benchmark in `make bench` (issue 12, §7): catalog calls against
the TLS sandbox, one thread, side by side with the official Python SDK's way of making the same
call: `requests.post` without a Session (a new TLS connection per call) and the SDK's own signing
steps (minify with json.dumps, SHA-256, HMAC-SHA512 with the client secret, base64).

Two calls: create_va (the B2B token only) and balance_inquiry (Direct Debit: the customer token
as Authorization-Customer and X-IP-ADDRESS as well). Prints "name value" lines: calls per second
and the 50th and 99th percentile latency in µs of each pattern.
Usage: operations_python.py URL CA_FILE KEYFILE CLIENT_ID SECRET SECONDS"""
import base64
import hashlib
import hmac
import json
import sys
import time
import uuid
from datetime import datetime, timezone

import requests

import doku_snap

url, ca, key_file, client_id, secret, seconds = sys.argv[1:7]
seconds = float(seconds)
client = doku_snap.Client(client_id=client_id, private_key_file=key_file, base_url=url, ca_file=ca, proxy="",
                          client_secret=secret, channel_id="H2H", timeout_ms=10000)
catalog = {op["name"]: op for op in doku_snap.operations()}
customer = client.get_token_b2b2c("bench-auth-code")["accessToken"]
IP = "203.0.113.7"
n = 0


def va() -> dict:
    global n
    n += 1
    return {"partnerServiceId": "  888994", "customerNo": "1", "virtualAccountNo": "  8889941",
            "virtualAccountName": "Bench", "trxId": f"PYOPS-{n}", "totalAmount": {"value": "10000.00", "currency": "IDR"}}


BALANCE = {"additionalInfo": {"channel": "DIRECT_DEBIT_ALLO_SNAP"}}


def check(op: str, status: int, text: str) -> None:
    if status != 200 or f'"{catalog[op]["success"][0]}"' not in text:
        raise SystemExit(f"{op}: unexpected answer {status}: {text[:200]}")


def sdk_way(op: str, body: dict, extra: dict) -> None:
    """As DOKU's Python SDK sends a call: its signing steps, a new connection."""
    row = catalog[op]
    minified = json.dumps(body, separators=(",", ":"))
    token = client.get_token()
    ts = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    digest = hashlib.sha256(minified.encode()).hexdigest().lower()
    to_sign = f"{row['method']}:{row['path']}:{token}:{digest}:{ts}"
    signature = base64.b64encode(hmac.new(secret.encode(), to_sign.encode(), hashlib.sha512).digest()).decode()
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}", "X-TIMESTAMP": ts,
               "X-SIGNATURE": signature, "X-PARTNER-ID": client_id, "X-EXTERNAL-ID": str(uuid.uuid4().int)[:36],
               "CHANNEL-ID": "H2H", **extra}
    r = requests.request(row["method"], url + row["path"], data=minified.encode(), headers=headers, verify=ca, timeout=10)
    check(op, r.status_code, r.text)


def measure(call) -> tuple:
    times, start = [], time.perf_counter()
    while time.perf_counter() - start < seconds:
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    times.sort()
    return len(times) / (time.perf_counter() - start), times[len(times) // 2] * 1e6, times[int(len(times) * 0.99)] * 1e6


def binding_create_va() -> None:
    r = client.create_va(va())
    check("create_va", r.http_status, r.body)


def binding_balance() -> None:
    r = client.balance_inquiry(BALANCE, customer_token=customer, ip_address=IP)
    check("balance_inquiry", r.http_status, r.body)


patterns = [
    ("catalog_create_va", binding_create_va),
    ("sdk_create_va", lambda: sdk_way("create_va", va(), {})),
    ("catalog_balance", binding_balance),
    ("sdk_balance", lambda: sdk_way("balance_inquiry", BALANCE, {"Authorization-Customer": f"Bearer {customer}", "X-IP-ADDRESS": IP})),
]
for _, call in patterns:
    call()  # the token, the agent and requests' imports are warm for every pattern
for name, call in patterns:
    rate, p50, p99 = measure(call)
    print(f"python_{name}_per_s {rate:.1f}")
    print(f"python_{name}_p50_us {p50:.0f}")
    print(f"python_{name}_p99_us {p99:.0f}")
client.close()
