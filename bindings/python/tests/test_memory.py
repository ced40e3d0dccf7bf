import os

import doku_snap

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def test_rss_stays_flat(make_client, keys):
    # Every owned string must go back to doku_free, error paths included.
    client = make_client("py-rss")
    key = keys.pkcs8.read_text()
    ts = doku_snap.timestamp()

    def mix(n):
        for i in range(n):
            op = i % 4
            if op == 0:
                doku_snap.sign("py-rss", ts, key)
            elif op == 1:
                client.token_info()
            elif op == 2:
                try:
                    doku_snap.sign("py-rss", ts, "not a key")
                except doku_snap.InvalidKeyError:
                    pass
            else:
                client.get_token()

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
    client = make_client("py-rss")
    key = keys.pkcs8.read_text()
    doku_snap.sign("py-rss", doku_snap.timestamp(), key)
    client.get_token()
    client.token_info()
    try:
        doku_snap.sign("py-rss", "2024-01-01T00:00:00Z", "not a key")
    except doku_snap.InvalidKeyError:
        pass
    assert len(freed) == 5 and all(freed[:4]) and freed[4] is None
