"""A merchant's endpoint for DOKU's calls (snap-reference §4), on Python's http.server.

DOKU calls the merchant in two steps, and doku_snap does the protocol work of each:

1. POST /authorization/v1/access-token/b2b, signed with DOKU's private key: issue_token()
   checks it as DOKU checks merchants and answers with an RS256 JWT signed with our key.
2. Every later call carries that token and an HMAC X-SIGNATURE keyed with our client secret:
   the VA inquiry (/v1.1/transfer-va/inquiry), the VA payment notification
   (/v1.1/transfer-va/payment) and the Direct Debit notification (/v1.0/debit/notify).
   merchant_verify() judges each one (token, signature, freshness, replay, mandatory fields)
   and either accepts it or gives the refusal to send; merchant_answer() builds the answer
   to an accepted call from what we decided (the bill, or a refusal such as bill_not_found).

Run (try it against `doku-sandbox --notify http://127.0.0.1:PORT`):

    DOKU_CLIENT_SECRET=... python merchant_server.py --client-id MCH-1 \\
        --doku-public-key doku-public.pem --private-key merchant.pem --public-key merchant-pub.pem

Every option also reads an environment variable (see --help); the secret only from the
environment or a file, and the private key's passphrase (if any) only from
MERCHANT_PRIVATE_KEY_PASSPHRASE, never from the command line, where `ps` would show them.
Neither is ever logged.
"""

import argparse
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict
from urllib.parse import urlsplit

import doku_snap

TOKEN_PATH = "/authorization/v1/access-token/b2b"
MAX_SKEW_S = 300  # the X-TIMESTAMP window, for the token request and every later call


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
    p.add_argument("--token-ttl", type=int, default=env("MERCHANT_TOKEN_TTL_S", "900"),
                   help="our tokens' lifetime in seconds, 1 to 86400 [MERCHANT_TOKEN_TTL_S; 900]")
    args = p.parse_args()
    secret = {"client_secret_file": Path(args.client_secret_file)} if args.client_secret_file \
        else {"client_secret": env("DOKU_CLIENT_SECRET")}
    missing = [flag for flag, value in [
        ("--client-id", args.client_id), ("--doku-public-key", args.doku_public_key),
        ("--private-key", args.private_key), ("--public-key", args.public_key),
        ("DOKU_CLIENT_SECRET", next(iter(secret.values())))] if not value]
    if missing:
        p.error("missing " + ", ".join(missing))
    # The options of issue_token() and merchant_verify() (the main README's "Token issuer
    # options" and "Notification verifier options" tables). Key files are read on each call,
    # parsed keys cached by content. A passphrase of None is the same as none.
    args.token_options = {
        "client_id": args.client_id,
        "doku_public_key_file": Path(args.doku_public_key),
        "merchant_private_key_file": Path(args.private_key),
        "merchant_private_key_passphrase": env("MERCHANT_PRIVATE_KEY_PASSPHRASE"),
        "ttl_s": args.token_ttl,
        "max_skew_s": MAX_SKEW_S,
    }
    args.verify_options = {
        "client_id": args.client_id,
        "merchant_public_key_file": Path(args.public_key),
        "max_skew_s": MAX_SKEW_S,
        **secret,
    }
    try:
        # Check both now rather than on DOKU's first call: the options and keys are read before
        # the (empty) request is judged and refused.
        doku_snap.issue_token(args.token_options, {}, None)
        doku_snap.merchant_verify(args.verify_options, "POST", "/", {}, None)
    except doku_snap.DokuError as e:  # names the option, never a key, secret or passphrase
        p.error(str(e))
    return args


# A demo's bills and ledger, in memory; a real merchant has a database.
RECORDED: Dict[str, Dict[str, Any]] = {}  # payments by id: recorded once, however often notified
RECORDED_LOCK = threading.Lock()


def bill(request: Dict[str, Any]) -> Dict[str, Any]:
    """The bill of a VA: 10000.00 IDR for every number, except customer numbers ending in 99."""
    if str(request["customerNo"]).endswith("99"):
        return {"refuse": "bill_not_found"}
    return {"virtualAccountName": "Budi Santoso",
            "totalAmount": {"value": "10000.00", "currency": "IDR"}}


def record(payment_id: str, request: Dict[str, Any]) -> bool:
    """Records a payment once; False when it was recorded before (DOKU may notify again)."""
    with RECORDED_LOCK:
        first = payment_id not in RECORDED
        RECORDED.setdefault(payment_id, request)
    return first


def amount(value: Any) -> str:
    """{"value": "10000.00", "currency": "IDR"} as 10000.00 IDR."""
    if isinstance(value, dict):
        return f"{value.get('value')} {value.get('currency')}"
    return str(value)


MAX_BODY = 64 * 1024  # DOKU's calls are a few KiB


class Handler(BaseHTTPRequestHandler):
    config: argparse.Namespace  # set in main()
    timeout = 10  # seconds a connection may stay silent (ThreadingHTTPServer: one thread each)

    def do_POST(self) -> None:
        length = self.headers.get("Content-Length", "0")
        if not length.isdigit() or int(length) > MAX_BODY:  # no "-1" (read to the end), no 1 GB
            self.send(413 if length.isdigit() else 400, '{"responseCode":"4000000","responseMessage":"Bad Request"}')
            return
        body = self.rfile.read(int(length))
        c = self.config
        try:
            if urlsplit(self.path).path == TOKEN_PATH:
                # Headers, timestamp, body, client id, skew, DOKU's signature: the answer is
                # the token or DOKU's refusal (e.g. 401 4017300); we send whichever it is.
                self.send(*doku_snap.issue_token(c.token_options, self.headers, body))
                return
            # Token, freshness, signature over the path as received and the exact body,
            # not received before (a replay), the call's mandatory fields.
            verdict = doku_snap.merchant_verify(c.verify_options, "POST", self.path, self.headers,
                                                body)
        except doku_snap.InvalidArgumentError as e:  # e.g. a path holding a NUL
            self.log_error("%s: %s", self.path, e)
            self.send(400, '{"responseCode":"4000000","responseMessage":"Bad Request"}')
            return
        except doku_snap.DokuError as e:  # e.g. a key file gone since the start
            self.log_error("%s: %s", self.path, e)
            self.send(500, '{"responseCode":"5000000","responseMessage":"General Error"}')
            return
        if not verdict.accepted:  # 401 for a bad token or signature, 409 for a replay, 404, ...
            self.log_message("refused %s: %s", self.path, verdict.body)
            self.send(verdict.http_status, verdict.body)
            return
        try:
            result = self.decide(verdict.operation, verdict.request)
            # 2002400 with the bill (or 404 4042412 without one), 2002500, 2005600.
            answer = doku_snap.merchant_answer(verdict.operation, verdict.request, result)
        except Exception as e:  # our side failed (a database down, a bad bill): 500, DOKU retries
            self.log_error("%s: %s", verdict.operation, e)
            answer = doku_snap.merchant_answer(verdict.operation, verdict.request,
                                               {"refuse": "general_error"})
        self.send(*answer)

    def decide(self, operation: str, request: Dict[str, Any]) -> Dict[str, Any]:
        """What we answer to an accepted call: merchant_answer()'s result."""
        if operation == "inquiry":
            return bill(request)
        if operation == "payment_notification":
            payment_id, paid, status = request["paymentRequestId"], request["paidAmount"], "paid"
        else:  # "debit_notification"
            payment_id, paid = request["originalPartnerReferenceNo"], request["amount"]
            status = "status " + str(request["latestTransactionStatus"])
        new = record(f"{operation} {payment_id}", request)
        self.log_message("%s %s: %s, %s (%s)", operation, payment_id, status, amount(paid),
                         "recorded" if new else "already recorded")
        return {}

    def send(self, status: int, body: str) -> None:
        data = body.encode()
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
