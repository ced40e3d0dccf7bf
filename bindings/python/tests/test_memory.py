import os

import pytest

import doku_snap

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


SECRET = "SK-py-rss-secret"  # conftest.SECRETS
BODY = '{ "trxId": "INV/1", "name": "Śantoso" }'


def test_rss_stays_flat(make_client, keys, doku_keys):
    # Every owned string must go back to doku_free, error paths included.
    client = make_client("py-rss", client_secret=SECRET, channel_id="H2H")
    key = keys.pkcs8.read_text()
    public = keys.public.read_text()
    doku_public = doku_keys.public.read_text()
    ts = doku_snap.timestamp()
    token_request = {"X-CLIENT-KEY": "py-rss", "X-TIMESTAMP": ts,
                     "X-SIGNATURE": doku_snap.sign("py-rss", ts, doku_keys.private.read_text())}
    options = {"client_id": "py-rss", "doku_public_key": doku_public, "merchant_private_key": key}
    file_options = {"client_id": "py-rss", "doku_public_key_file": doku_keys.public,
                    "merchant_private_key_file": keys.pkcs8}
    jwt = doku_snap.issue_token(options, token_request,
                                '{"grantType":"client_credentials"}').json()["accessToken"]

    def mix(n):
        for i in range(n):
            op = i % 10
            if op == 0:
                doku_snap.sign("py-rss", ts, key)
            elif op == 1:
                client.token_info()
            elif op == 2:
                try:
                    doku_snap.sign("py-rss", ts, "not a key")
                except doku_snap.InvalidKeyError:
                    pass
            elif op == 3:
                client.get_token()
            elif op == 4:
                doku_snap.minify(BODY)
                sig = doku_snap.sign_request(SECRET, "POST", "/n", "tok", BODY, ts)
                assert doku_snap.verify_request(SECRET, "POST", "/n", "tok", BODY, ts, sig)
            elif op == 5:
                assert not doku_snap.verify_request(SECRET, "POST", "/n", "tok", BODY, ts, "AAAA")
                try:
                    doku_snap.minify("{")
                except doku_snap.InvalidArgumentError:
                    pass
            elif op == 6:
                client.request_headers("POST", "/n", BODY)
            elif op == 7:
                doku_snap.validate_token(jwt, public)
                try:
                    doku_snap.validate_token(jwt, doku_public)  # wrong key
                except doku_snap.SignatureInvalidError:
                    pass
            elif op == 8:
                # a refusal (400, missing headers) is an owned string too; no RSA work
                # (every other ten calls with the keys read from files: that path allocates too)
                assert doku_snap.issue_token(options if i % 20 < 10 else file_options, {},
                                             None).http_status == 400
            else:
                assert not doku_snap.verify("py-rss", ts, "AAAA", public)

    mix(2_000)  # warm-up: caches, allocator arenas
    before = rss()
    mix(20_000)
    growth = rss() - before
    print(f"RSS growth over 20,000 calls: {growth / 1024:.0f} KiB")
    assert growth < 2 * 1024 * 1024, f"RSS grew by {growth / 1024:.0f} KiB over 20,000 calls"


def test_every_owned_string_is_freed(make_client, keys, monkeypatch):
    # Exact accounting, which an RSS bound cannot give for small strings: one doku_free per
    # call that has an out-parameter, success or failure (NULL is freed harmlessly then).
    from doku_snap import _native
    freed = []
    real = _native.lib.doku_free
    monkeypatch.setattr(_native.lib, "doku_free", lambda p: (freed.append(p.value), real(p)))
    client = make_client("py-rss", client_secret=SECRET, channel_id="H2H")
    key = keys.pkcs8.read_text()
    ts = doku_snap.timestamp()
    doku_snap.sign("py-rss", ts, key)
    client.get_token()
    client.token_info()
    doku_snap.minify(BODY)
    doku_snap.sign_request(SECRET, "POST", "/n", "tok", BODY, ts)
    client.request_headers("POST", "/n", BODY)
    client.request("POST", "/n", BODY)  # the sandbox answers 404: still a response
    options = {"client_id": "py-rss", "doku_public_key": keys.public.read_text(),
               "merchant_private_key": key}
    issued = doku_snap.issue_token(options, {}, None)
    assert len(freed) == 9 and all(freed)  # timestamp() included
    failing = [
        lambda: doku_snap.sign("py-rss", "2024-01-01T00:00:00Z", "not a key"),
        lambda: doku_snap.minify("{"),
        lambda: doku_snap.validate_token("not a jwt", keys.public.read_text()),
        lambda: doku_snap.issue_token({**options, "doku_public_key": "not a key"}, {}, None),
        lambda: doku_snap.issue_token({**options, "ttl": 60}, {}, None),  # an unknown key
        lambda: client.get_token_b2b2c("invalid-code"),
    ]
    for call in failing:
        with pytest.raises(doku_snap.DokuError):
            call()
    assert len(freed) == 9 + len(failing) and not any(freed[9:])  # NULL on failure
    assert issued.http_status == 400
