"""A merchant's notification endpoint (snap-reference §4), on the standard library's HTTP server.

DOKU calls the merchant in two steps, and doku_snap does the protocol work of each:

1. POST /authorization/v1/access-token/b2b, signed with DOKU's private key: issue_token()
   checks it as DOKU checks merchants and answers with an RS256 JWT signed with our key.
2. POST /v1.1/transfer-va/payment with that token as Bearer and an HMAC X-SIGNATURE keyed with
   our client secret: validate_token() checks the JWT, verify_request() the signature.

Run (try it against `doku-sandbox --notify http://127.0.0.1:PORT`):

    DOKU_CLIENT_SECRET=... python merchant_server.py --client-id MCH-1 \\
        --doku-public-key doku-public.pem --private-key merchant.pem --public-key merchant-pub.pem

Every option also reads an environment variable (see --help); the secret only from the
environment or a file, and the private key's passphrase (if any) only from
MERCHANT_PRIVATE_KEY_PASSPHRASE, never from the command line, where `ps` would show them.
"""

import argparse
import json
import os
import sys
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, Union
from urllib.parse import urlsplit

import doku_snap

TOKEN_PATH = "/authorization/v1/access-token/b2b"
PAYMENT_PATH = "/v1.1/transfer-va/payment"
MAX_SKEW_S = 300  # X-TIMESTAMP freshness window: a replayed notification is refused after it


def parse_args() -> argparse.Namespace:
    env = os.environ.get
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--listen", default=env("MERCHANT_LISTEN", "127.0.0.1:8081"),
                   help="HOST:PORT, port 0 for any free port [MERCHANT_LISTEN]")
    p.add_argument("--client-id", default=env("DOKU_CLIENT_ID"), help="ours [DOKU_CLIENT_ID]")
    p.add_argument("--client-secret-file", default=env("DOKU_CLIENT_SECRET_FILE"),
                   help="our client secret [DOKU_CLIENT_SECRET_FILE, or DOKU_CLIENT_SECRET itself]")
    p.add_argument("--doku-public-key", default=env("DOKU_PUBLIC_KEY_FILE"),
                   help="DOKU's public key, PEM [DOKU_PUBLIC_KEY_FILE]")
    p.add_argument("--private-key", default=env("MERCHANT_PRIVATE_KEY_FILE"),
                   help="our private key: signs our tokens [MERCHANT_PRIVATE_KEY_FILE; "
                        "MERCHANT_PRIVATE_KEY_PASSPHRASE if it is encrypted]")
    p.add_argument("--public-key", default=env("MERCHANT_PUBLIC_KEY_FILE"),
                   help="our public key: checks our tokens [MERCHANT_PUBLIC_KEY_FILE]")
    args = p.parse_args()
    args.client_secret = (Path(args.client_secret_file).read_text().strip() if args.client_secret_file
                          else env("DOKU_CLIENT_SECRET"))
    missing = [flag for flag, value in [
        ("--client-id", args.client_id), ("--doku-public-key", args.doku_public_key),
        ("--private-key", args.private_key), ("--public-key", args.public_key),
        ("DOKU_CLIENT_SECRET", args.client_secret)] if not value]
    if missing:
        p.error("missing " + ", ".join(missing))
    # issue_token()'s token options (see the main README's "Token issuer options" table). The
    # key files are read on each call; the parsed keys are cached by content. A passphrase of
    # None is the same as none. One X-TIMESTAMP window for the token request and notifications.
    args.token_options = {
        "client_id": args.client_id,
        "doku_public_key_file": Path(args.doku_public_key),
        "merchant_private_key_file": Path(args.private_key),
        "merchant_private_key_passphrase": env("MERCHANT_PRIVATE_KEY_PASSPHRASE"),
        "max_skew_s": MAX_SKEW_S,
    }
    try:
        # Check them now rather than on DOKU's first call: a request without headers is refused
        # (400) only after the options and both keys have been read.
        doku_snap.issue_token(args.token_options, {}, None)
    except doku_snap.DokuError as e:  # names the option, never a key or the passphrase
        p.error(str(e))
    args.public_key = Path(args.public_key).read_text()  # validate_token() takes key text
    return args


def fresh(timestamp: str) -> bool:
    """Whether X-TIMESTAMP is within MAX_SKEW_S of our clock (fromisoformat takes "Z" from 3.11)."""
    try:
        when = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return False
    if when.tzinfo is None:
        return False
    return abs((datetime.now(timezone.utc) - when).total_seconds()) <= MAX_SKEW_S


class Handler(BaseHTTPRequestHandler):
    config: argparse.Namespace  # set in main()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        route = urlsplit(self.path).path
        if route == TOKEN_PATH:
            self.token_request(body)
        elif route == PAYMENT_PATH:
            self.payment_notification(body)
        else:
            self.answer(404, {"responseCode": "4040000", "responseMessage": "Not Found"})

    def token_request(self, body: bytes) -> None:
        try:
            # Judges headers, timestamp, body, client id, skew and DOKU's signature; a refusal
            # (e.g. 401 4017300) is an answer too, so we send whatever it gives.
            issued = doku_snap.issue_token(self.config.token_options, self.headers, body)
        except doku_snap.InvalidArgumentError:  # e.g. a body that is not UTF-8
            self.answer(400, {"responseCode": "4007300", "responseMessage": "Bad Request"})
            return
        except doku_snap.InvalidKeyError as e:  # a key file gone or replaced since the start
            self.log_error("token request: %s", e)
            self.answer(500, {"responseCode": "5007300", "responseMessage": "General Error"})
            return
        self.answer(issued.http_status, issued.body)

    def payment_notification(self, body: bytes) -> None:
        c = self.config
        authorization = self.headers.get("Authorization", "")
        try:
            doku_snap.validate_token(authorization, c.public_key)  # ours, unexpired, RS256
        except (doku_snap.SignatureInvalidError, doku_snap.InvalidArgumentError):  # or not a JWT
            self.answer(401, {"responseCode": "4012501", "responseMessage": "Invalid Token (B2B)"})
            return
        timestamp = self.headers.get("X-TIMESTAMP", "")
        signature = self.headers.get("X-SIGNATURE", "")
        try:
            # Signed over the path DOKU called (self.path: behind a proxy that strips a prefix,
            # use the public path) and the raw body bytes; compared in constant time.
            valid = doku_snap.verify_request(c.client_secret, "POST", self.path, authorization,
                                             body, timestamp, signature)
        except doku_snap.InvalidArgumentError:  # a body that is not JSON, ...
            valid = False
        if not valid or not fresh(timestamp):
            self.answer(401, {"responseCode": "4012500",
                              "responseMessage": "Unauthorized. Invalid Signature"})
            return
        payment = json.loads(body)
        # Record the payment here (idempotently: DOKU retries; X-EXTERNAL-ID identifies a request).
        fields = ("partnerServiceId", "customerNo", "virtualAccountNo", "virtualAccountName",
                  "paymentRequestId")
        self.answer(200, {"responseCode": "2002500", "responseMessage": "Successful",
                          "virtualAccountData": {k: payment.get(k) for k in fields}})

    def answer(self, status: int, body: Union[str, Dict[str, Any]]) -> None:
        data = (body if isinstance(body, str) else json.dumps(body)).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def main() -> int:
    Handler.config = parse_args()
    host, _, port = Handler.config.listen.rpartition(":")
    server = ThreadingHTTPServer((host, int(port)), Handler)
    print(f"listening on http://{host}:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
