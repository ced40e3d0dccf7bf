"""`make demo`: one token from the sandbox through the Python binding.

Reads DOKU_BASE_URL, DOKU_CLIENT_ID, DOKU_PRIVATE_KEY_FILE and DOKU_CA_FILE (optional).
"""

import os
import sys

import doku_snap


def main() -> int:
    env = os.environ
    try:
        with doku_snap.Client(
            client_id=env["DOKU_CLIENT_ID"],
            private_key_file=env["DOKU_PRIVATE_KEY_FILE"],
            base_url=env.get("DOKU_BASE_URL") or None,  # None: the environment's default host
            ca_file=env.get("DOKU_CA_FILE") or None,
        ) as client:
            info = client.token_info()
    except KeyError as e:
        print(f"python: set {e.args[0]}", file=sys.stderr)
        return 2
    except doku_snap.DokuError as e:
        code = f" ({e.response_code})" if e.response_code else ""
        print(f"python: {type(e).__name__}{code}: {e}", file=sys.stderr)
        return 1
    print(f"python: got token {info['accessToken'][:10]}... (expires in {info['expiresIn']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
