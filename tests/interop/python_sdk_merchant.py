"""A merchant built on DOKU's official Python SDK's merchant-side helpers, in Flask (the SDK reads
the request from Flask's globals), for doku-sandbox --notify to call. Run with the SDK's own
interpreter; prints "listening on URL" once it serves.

argv: PORT CLIENT_ID MERCHANT_PRIVATE_KEY_FILE MERCHANT_PUBLIC_KEY_FILE DOKU_PUBLIC_KEY_FILE SECRET SANDBOX_URL
(the constructor fetches a token from the sandbox, whose CA comes from REQUESTS_CA_BUNDLE)."""

import os
import sys

from flask import Flask, jsonify, request

from doku_python_library.src.commons import config
from doku_python_library.src.model.general.request_header import RequestHeader
from doku_python_library.src.model.notification.notification_payment_request import PaymentNotificationRequest
from doku_python_library.src.snap import DokuSNAP

port, client_id, key_file, merchant_public_file, doku_public_file, secret, sandbox_url = sys.argv[1:8]
config._Development.BASE_URL = sandbox_url
read = lambda path: open(path).read()
# public_key is DOKU's (it checks the token request), merchant_public_key ours (it checks the
# token DOKU presents); the constructor gets a B2B token from DOKU, whose lifetime the SDK then
# gives the tokens it issues.
snap = DokuSNAP(private_key=read(key_file), client_id=client_id, is_production=False, public_key=read(doku_public_file),
                issuer="doku-snap-interop", secret_key=secret, merchant_public_key=read(merchant_public_file))
app = Flask(__name__)


@app.post("/authorization/v1/access-token/b2b")
def token():
    issued = snap.validate_signature_and_generate_token()
    status = 200 if issued.body.response_code == "2007300" else 401
    return jsonify(issued.body.json()), status


@app.post("/v1.1/transfer-va/payment")
def payment():
    h = request.headers
    authorization = h.get("Authorization", "")
    if os.environ.get("STRIP_BEARER"):  # the work-around for its token check (test_interop.py)
        authorization = authorization.removeprefix("Bearer ")
    header = RequestHeader(x_timestamp=h.get("X-TIMESTAMP"), x_signature=h.get("X-SIGNATURE"), x_partner_id=h.get("X-PARTNER-ID"),
                           x_external_id=h.get("X-EXTERNAL-ID"), authorization=authorization, channel_id=h.get("CHANNEL-ID"))
    answer = snap.validate_token_and_generate_notification_response(header, PaymentNotificationRequest(**request.get_json()))
    return jsonify(answer.json())


print(f"listening on http://127.0.0.1:{port}", flush=True)
app.run(host="127.0.0.1", port=int(port))
