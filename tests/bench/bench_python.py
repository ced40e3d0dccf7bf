"""Python side of `make bench`: per-call overhead of the binding, and its sign rate against the
way the official Python SDK signs (cryptography's load_pem_private_key + sign on every call).
Prints "name value" lines. Usage: bench_python.py KEYFILE URL SECONDS"""
import sys
import time

import doku_snap
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

key_file, url, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
pem = open(key_file).read()


def rate(fn, budget):
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < budget:
        for _ in range(16):
            fn()
        n += 16
    return n / (time.perf_counter() - start)


def official_sign():
    # What the official SDK does per request: parse the PEM text, then sign.
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    key.sign(b"MCH-BENCH|2026-01-01T00:00:00Z", padding.PKCS1v15(), hashes.SHA256())


with doku_snap.Client(client_id="bench", private_key=pem, base_url=url, proxy="") as client:
    client.get_token()
    print("python_get_token_per_s", rate(client.get_token, seconds))
print("python_sign_per_s", rate(lambda: doku_snap.sign("MCH-BENCH", "2026-01-01T00:00:00Z", pem), seconds))
print("python_official_sign_per_s", rate(official_sign, seconds))
