"""merchant_verify and merchant_answer against the real library: DOKU's calls to the merchant
(VA inquiry, VA payment notification, Direct Debit notification) made by hand as DOKU makes
them, with a token from issue_token() and a signature from sign_request(); each verdict, each
answer, and the argument errors with their exact messages."""

import dataclasses
import itertools
import json
import threading
import time
from email.message import Message

import pytest

import doku_snap
from test_merchant import make_jwt

ID = "MCH-verify-1"
SECRET = "SK-verify-s3cr3t-of-the-merchant"
PAYMENT = "/v1.1/transfer-va/payment"
INQUIRY = "/v1.1/transfer-va/inquiry"
DEBIT = "/v1.0/debit/notify"
INVALID = doku_snap.InvalidArgumentError
KEY = doku_snap.InvalidKeyError

# DOKU's bodies, pretty-printed as its samples are, with non-ASCII text and '/' in ids.
PAYMENT_BODY = """{
  "partnerServiceId": "  888994",
  "customerNo": "00000000000000000001",
  "virtualAccountNo": "  88899400000000000000000001",
  "virtualAccountName": "Budi Śantoso / Toko Kue Ñam",
  "trxId": "INV/2026/0001",
  "paymentRequestId": "P-0001",
  "paidAmount": {
    "value": "10000.00",
    "currency": "IDR"
  },
  "trxDateTime": "2026-11-28T10:00:00+07:00",
  "additionalInfo": {
    "channel": "VIRTUAL_ACCOUNT_BANK_MANDIRI"
  }
}
"""
INQUIRY_BODY = """{
  "partnerServiceId": "  888994",
  "customerNo": "00000000000000000099",
  "virtualAccountNo": "  88899400000000000000000099",
  "channelCode": 6011,
  "trxDateInit": "2026-11-28T10:00:00+07:00",
  "language": "ID",
  "inquiryRequestId": "R/0001",
  "additionalInfo": {"channel": "VIRTUAL_ACCOUNT_BANK_MANDIRI"}
}"""
DEBIT_BODY = """{"originalPartnerReferenceNo": "ORDER/1", "originalReferenceNo": "DD1",
  "latestTransactionStatus": "00", "amount": {"value": "25000.00", "currency": "IDR"}}"""
BILL = {"virtualAccountName": "Budi Śantoso", "totalAmount": {"value": "10000.00", "currency": "IDR"}}

_ids = itertools.count()


def external_id() -> str:
    """A fresh X-EXTERNAL-ID: the ledger is the process's, shared by every test."""
    return f"{time.time_ns()}{next(_ids):06d}"


@pytest.fixture(scope="module")
def token(keys, doku_keys):
    """A token the merchant issued with issue_token(), as DOKU presents it."""
    ts = doku_snap.timestamp()
    headers = {"X-CLIENT-KEY": ID, "X-TIMESTAMP": ts,
               "X-SIGNATURE": doku_snap.sign(ID, ts, doku_keys.private.read_text())}
    issued = doku_snap.issue_token({"client_id": ID, "doku_public_key_file": doku_keys.public,
                                    "merchant_private_key_file": keys.pkcs8},
                                   headers, '{"grantType":"client_credentials"}')
    assert issued.http_status == 200, issued
    return issued.json()["accessToken"]


@pytest.fixture
def options(keys):
    return {"client_id": ID, "client_secret": SECRET, "merchant_public_key_file": keys.public}


def signed(token, path=PAYMENT, body=PAYMENT_BODY, *, secret=SECRET, ts=None, partner=ID, xid=None):
    """The headers DOKU sends with a call: its token, and X-SIGNATURE over exactly `body`. Each
    call gets its own timestamp (a counter as the fraction of a second), so its own signature:
    the library knows a replay by its signature."""
    ts = ts or time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + f".{next(_ids) % 1_000_000:06d}Z"
    return {"Authorization": "Bearer " + token, "X-TIMESTAMP": ts,
            "X-SIGNATURE": doku_snap.sign_request(secret, "POST", path, token, body, ts),
            "X-PARTNER-ID": partner, "X-EXTERNAL-ID": xid or external_id(), "CHANNEL-ID": "95221",
            "Content-Type": "application/json"}


def raises(cls, status, message, call, *args, prefix=False):
    with pytest.raises(doku_snap.DokuError) as info:
        call(*args)
    e = info.value
    assert type(e) is cls and e.status == status, repr(e)
    assert (e.message.startswith(message) if prefix else e.message == message), repr(e)
    return e


def refusal(verdict):
    assert not verdict.accepted and verdict.request is None and verdict.external_id is None, verdict
    body = json.loads(verdict.body)
    assert list(body) == ["responseCode", "responseMessage"], verdict.body
    assert verdict.response_code == body["responseCode"]
    return verdict.http_status, body["responseCode"], body["responseMessage"]


@pytest.mark.parametrize("path, body, operation", [
    (PAYMENT, PAYMENT_BODY, "payment_notification"),
    (INQUIRY, INQUIRY_BODY, "inquiry"),
    (DEBIT, DEBIT_BODY, "debit_notification"),
    ("/doku/callbacks" + PAYMENT, PAYMENT_BODY, "payment_notification"),  # behind a base path
    (PAYMENT + "?merchant=1", PAYMENT_BODY, "payment_notification"),  # the query is signed too
])
def test_accepted(options, token, path, body, operation):
    headers = signed(token, path, body)
    verdict = doku_snap.merchant_verify(options, "POST", path, headers, body.encode())
    assert isinstance(verdict, doku_snap.Verdict) and verdict.accepted, verdict
    assert verdict.operation == operation
    assert verdict.request == json.loads(body)
    assert (verdict.external_id, verdict.timestamp) == (headers["X-EXTERNAL-ID"], headers["X-TIMESTAMP"])
    assert (verdict.http_status, verdict.body, verdict.response_code) == (None, None, None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        verdict.accepted = False  # type: ignore[misc]


def test_answers_to_accepted_calls(options, token):
    answers = {}
    for path, body, result in [(INQUIRY, INQUIRY_BODY, BILL), (PAYMENT, PAYMENT_BODY, None),
                               (DEBIT, DEBIT_BODY, {"approvalCode": "A-77"})]:
        v = doku_snap.merchant_verify(options, "POST", path, signed(token, path, body), body)
        answer = doku_snap.merchant_answer(v.operation, v.request, result)
        assert isinstance(answer, doku_snap.MerchantAnswer)
        status, text = answer  # a NamedTuple: unpacks
        assert status == 200 and json.loads(text) == answer.json()
        answers[v.operation] = answer
    inquiry = answers["inquiry"].json()
    assert inquiry["responseCode"] == "2002400" and inquiry["responseMessage"] == "Successful"
    data = inquiry["virtualAccountData"]
    assert (data["inquiryRequestId"], data["virtualAccountName"], data["totalAmount"]) == \
        ("R/0001", "Budi Śantoso", {"currency": "IDR", "value": "10000.00"})
    assert (data["inquiryStatus"], data["virtualAccountTrxType"]) == ("00", "C")
    # The payment's answer, to the byte: the echoed fields, non-ASCII as UTF-8, not \u escapes.
    assert answers["payment_notification"].body == (
        '{"responseCode":"2002500","responseMessage":"Successful","virtualAccountData":{'
        '"additionalInfo":{"channel":"VIRTUAL_ACCOUNT_BANK_MANDIRI"},'
        '"customerNo":"00000000000000000001","paidAmount":{"currency":"IDR","value":"10000.00"},'
        '"partnerServiceId":"  888994","paymentRequestId":"P-0001","trxId":"INV/2026/0001",'
        '"virtualAccountName":"Budi Śantoso / Toko Kue Ñam",'
        '"virtualAccountNo":"  88899400000000000000000001"}}')
    assert answers["debit_notification"].json() == {
        "responseCode": "2005600", "responseMessage": "Successful", "approvalCode": "A-77"}


def test_header_body_and_option_forms(options, token, keys, tmp_path):
    def accepted(opts, headers, body):
        return doku_snap.merchant_verify(opts, "POST", PAYMENT, headers, body).accepted
    # headers: lower-case names, http.server's Message; bodies: str, bytes, bytearray, memoryview
    h = signed(token)
    assert accepted(options, {k.lower(): v for k, v in h.items()}, PAYMENT_BODY)
    message = Message()
    for k, v in signed(token).items():
        message[k] = v
    assert accepted(options, message, PAYMENT_BODY.encode())
    assert accepted(options, signed(token), bytearray(PAYMENT_BODY.encode()))
    assert accepted(options, signed(token), memoryview(PAYMENT_BODY.encode()))
    # options: the secret from a file (one line end ignored), the key as text, bare base64, str
    secret_file = tmp_path / "secret"
    secret_file.write_text(SECRET + "\r\n")
    bare = "".join(line for line in keys.public.read_text().splitlines() if not line.startswith("-----"))
    for opts in [
        {**options, "client_secret": None, "client_secret_file": secret_file},
        {**options, "client_secret": None, "client_secret_file": str(secret_file)},
        {**options, "merchant_public_key_file": None, "merchant_public_key": keys.public.read_text()},
        {**options, "merchant_public_key_file": None, "merchant_public_key": bare},
        {**options, "max_skew_s": 60},
    ]:
        assert accepted(opts, signed(token), PAYMENT_BODY), opts


def test_no_body_and_an_empty_body(options, token):
    # Both reach the core as "no body": signed as such, refused for the missing fields.
    for body in (None, b"", ""):
        v = doku_snap.merchant_verify(options, "POST", PAYMENT, signed(token, body=""), body)
        assert refusal(v) == (400, "4002500", "Bad Request. The body must be a JSON object"), body


def expired_token(keys, **claims):
    now = int(time.time())
    return make_jwt({"alg": "RS256", "typ": "JWT"},
                    {"iss": ID, "iat": now - 1000, "exp": now - 100, "clientId": ID, "jti": "j", **claims},
                    keys.pkcs8)


@pytest.mark.parametrize("case, expected", [
    ("no Authorization", (400, "4002502", "Invalid Mandatory Field Authorization")),
    ("not Bearer", (400, "4002502", "Invalid Mandatory Field Authorization")),
    ("no X-PARTNER-ID", (400, "4002502", "Invalid Mandatory Field X-PARTNER-ID")),
    ("no CHANNEL-ID", (400, "4002502", "Invalid Mandatory Field CHANNEL-ID")),
    ("bad X-TIMESTAMP", (400, "4002501", "Invalid Field Format X-TIMESTAMP")),
    ("bad X-EXTERNAL-ID", (400, "4002501", "Invalid Field Format X-EXTERNAL-ID")),
    ("token of another issuer", (401, "4012501", "Invalid Token (B2B): JWT rejected: …")),
    ("expired token", (401, "4012501", "Invalid Token (B2B): JWT rejected: it expired …")),
    ("alg none", (401, "4012501", 'Invalid Token (B2B): JWT rejected: alg "none"…')),
    ("stale", (401, "4012500",
               "Unauthorized. X-TIMESTAMP is 3600 s away from the server clock (allowed: 300 s)")),
    ("other partner", (401, "4012500", "Unauthorized. X-PARTNER-ID does not match the token's client")),
    ("not our client", (401, "4012500", "Unauthorized. X-PARTNER-ID is not this merchant's client id")),
    ("wrong secret", (401, "4012500", "Unauthorized. Invalid Signature (expected HMAC-SHA512 over "
                                      '"POST:/v1.1/transfer-va/payment:<access token>:…')),
    ("body changed", (401, "4012500", "Unauthorized. Invalid Signature (…")),
    ("signed for another path", (401, "4012400", "Unauthorized. Invalid Signature (…")),
    ("not UTF-8", (400, "4002500", "Bad Request. The body is not UTF-8")),
    ("not an object", (400, "4002500", "Bad Request. The body must be a JSON object")),
    ("missing field", (400, "4002502", "Invalid Mandatory Field paidAmount")),
    ("blank field", (400, "4002502", "Invalid Mandatory Field paymentRequestId")),
    ("GET", (400, "4002500", "Bad Request. DOKU sends /v1.1/transfer-va/payment with POST")),
    ("unknown path", (404, "4040000", "Not Found. DOKU's calls to a merchant end /transfer-va/inquiry, "
                                      "/transfer-va/payment, /debit/notify")),
])
def test_refusals(options, token, keys, doku_keys, case, expected):
    method, path, body = "POST", PAYMENT, PAYMENT_BODY.encode()
    h = signed(token)
    tokens = [token]
    if case == "no Authorization":
        del h["Authorization"]
    elif case == "not Bearer":
        h["Authorization"] = token
    elif case.startswith("no "):
        del h[case[3:]]
    elif case == "bad X-TIMESTAMP":
        h = signed(token, ts="2026-11-28 10:00:00")
    elif case == "bad X-EXTERNAL-ID":
        h = signed(token, xid="6 6")
    elif case in ("token of another issuer", "expired token", "alg none", "not our client"):
        other = {
            "token of another issuer": lambda: make_jwt({"alg": "RS256", "typ": "JWT"},
                                                        {"clientId": ID, "exp": int(time.time()) + 300},
                                                        doku_keys.private),
            "expired token": lambda: expired_token(keys),
            "alg none": lambda: make_jwt({"alg": "none"}, {"clientId": ID, "exp": int(time.time()) + 300}),
            # no clientId claim: the partner is checked against client_id alone
            "not our client": lambda: make_jwt({"alg": "RS256", "typ": "JWT"},
                                               {"exp": int(time.time()) + 300}, keys.pkcs8),
        }[case]()
        tokens.append(other)
        h = signed(other, partner="MCH-other" if case == "not our client" else ID)
    elif case == "stale":
        h = signed(token, ts=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 3600)))
    elif case == "other partner":
        h = signed(token, partner="MCH-other")
    elif case == "wrong secret":
        h = signed(token, secret=SECRET + "!")
    elif case == "body changed":
        body = PAYMENT_BODY.replace("10000.00", "90000.00").encode()
    elif case == "signed for another path":
        path = INQUIRY
    elif case == "not UTF-8":
        body = b'{"virtualAccountName": "\xff"}'
    elif case == "not an object":
        body = b"[1, 2]"
        h = signed(token, body="[1, 2]")
    elif case in ("missing field", "blank field"):
        changed = json.loads(PAYMENT_BODY)
        if case == "missing field":
            del changed["paidAmount"]
        else:
            changed["paymentRequestId"] = "   "
        body = json.dumps(changed, ensure_ascii=False).encode()
        h = signed(token, body=body)
    elif case == "GET":
        method = "GET"
    elif case == "unknown path":
        path = "/v1.0/refund"
    verdict = doku_snap.merchant_verify(options, method, path, h, body)
    status, code, message = refusal(verdict)
    assert (status, code) == expected[:2], verdict
    # a trailing … marks a prefix: the rest names values of the request (a hash, a time)
    assert message.startswith(expected[2][:-1]) if expected[2].endswith("…") \
        else message == expected[2], verdict
    assert verdict.operation == {INQUIRY: "inquiry", PAYMENT: "payment_notification"}.get(path)
    for shown in (verdict.body, repr(verdict)):
        assert SECRET not in shown and not any(t in shown for t in tokens), shown


def test_a_replay_is_refused(options, token):
    h = signed(token)
    assert doku_snap.merchant_verify(options, "POST", PAYMENT, h, PAYMENT_BODY).accepted
    again = doku_snap.merchant_verify(options, "POST", PAYMENT, h, PAYMENT_BODY)
    assert refusal(again) == (409, "4092500", "Conflict. This request was received before (a replay)")
    # a refused call is not recorded: its X-EXTERNAL-ID stays usable
    xid = external_id()
    stale = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 3600))
    assert refusal(doku_snap.merchant_verify(options, "POST", PAYMENT, signed(token, ts=stale, xid=xid),
                                             PAYMENT_BODY))[1] == "4012500"
    assert doku_snap.merchant_verify(options, "POST", PAYMENT, signed(token, xid=xid), PAYMENT_BODY).accepted


def test_one_of_many_threads_wins_a_replay(options, token):
    h = signed(token)
    verdicts = []
    threads = [threading.Thread(target=lambda: verdicts.append(
        doku_snap.merchant_verify(options, "POST", PAYMENT, h, PAYMENT_BODY))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(v.http_status or 200 for v in verdicts) == [200] + [409] * 7


def test_a_nul_byte_reaches_the_core(options, token):
    """The body goes with its length: a NUL byte is judged, not a place where the body ends.
    Cut at the NUL, the body would be the signed JSON and be accepted."""
    signed_part = PAYMENT_BODY.rstrip()
    h = signed(token, body=signed_part)
    body = signed_part.encode() + b"\0" + "Ñ tail".encode()
    verdict = doku_snap.merchant_verify(options, "POST", PAYMENT, h, body)
    column = len(signed_part.splitlines()[-1]) + 1
    lines = len(signed_part.splitlines())
    assert refusal(verdict) == (400, "4002500", "Bad Request. body is not valid JSON (trailing "
                                                f"characters at line {lines} column {column})")
    # A NUL escaped in a JSON string is data: accepted, echoed by the answer as \u0000.
    escaped = PAYMENT_BODY.replace("Budi", "Budi\\u0000")
    verdict = doku_snap.merchant_verify(options, "POST", PAYMENT, signed(token, body=escaped), escaped)
    assert verdict.accepted and verdict.request["virtualAccountName"].startswith("Budi\0 Śantoso"), verdict
    answer = doku_snap.merchant_answer(verdict.operation, verdict.request)
    assert '"virtualAccountName":"Budi\\u0000 Śantoso / Toko Kue Ñam"' in answer.body
    assert answer.json()["virtualAccountData"]["virtualAccountName"] == "Budi\0 Śantoso / Toko Kue Ñam"


def test_non_ascii_is_signed_and_kept_as_utf8(options, token):
    # the signature covers the UTF-8 bytes, as str or bytes; the request keeps the text
    for body in (PAYMENT_BODY, PAYMENT_BODY.encode("utf-8")):
        verdict = doku_snap.merchant_verify(options, "POST", PAYMENT, signed(token), body)
        assert verdict.request["virtualAccountName"] == "Budi Śantoso / Toko Kue Ñam", verdict
    # \u escapes are other bytes: signed as sent, they verify and decode to the same text;
    # signed over the UTF-8 text, they do not
    escaped = json.dumps(json.loads(PAYMENT_BODY))  # ensure_ascii: "\u015a"
    verdict = doku_snap.merchant_verify(options, "POST", PAYMENT, signed(token, body=escaped), escaped)
    assert verdict.request["virtualAccountName"] == "Budi Śantoso / Toko Kue Ñam", verdict
    verdict = doku_snap.merchant_verify(options, "POST", PAYMENT, signed(token), escaped)
    assert refusal(verdict)[1] == "4012500"


@pytest.mark.parametrize("operation, body, reason, expected", [
    ("inquiry", INQUIRY_BODY, "bill_not_found", (404, "4042412", "Invalid Bill/Virtual Account")),
    ("inquiry", INQUIRY_BODY, "invalid_amount", (404, "4042413", "Invalid Amount")),
    ("inquiry", INQUIRY_BODY, "bill_paid", (404, "4042414", "Paid Bill")),
    ("inquiry", INQUIRY_BODY, "bill_expired", (404, "4042419", "Invalid Bill/Virtual Account Expired")),
    ("inquiry", INQUIRY_BODY, "general_error", (500, "5002400", "General Error")),
    ("payment_notification", PAYMENT_BODY, "bill_paid", (404, "4042514", "Paid Bill")),
    ("payment_notification", PAYMENT_BODY, "general_error", (500, "5002500", "General Error")),
    ("debit_notification", DEBIT_BODY, "general_error", (500, "5005600", "General Error")),
])
def test_answer_refusals(operation, body, reason, expected):
    answer = doku_snap.merchant_answer(operation, json.loads(body), {"refuse": reason})
    got = answer.json()
    assert (answer.http_status, got["responseCode"], got["responseMessage"]) == expected
    if operation != "debit_notification":  # the VA calls echo the request's ids
        assert got["virtualAccountData"]["customerNo"] == json.loads(body)["customerNo"]


def test_answer_options_of_a_bill():
    request = json.loads(INQUIRY_BODY)
    result = {**BILL, "trxId": "INV/1", "virtualAccountEmail": "budi@example.com",
              "virtualAccountPhone": None, "expiredDate": "2026-12-31T23:59:59+07:00",
              "additionalInfo": {"note": "ñ"}, "virtualAccountTrxType": "O"}
    data = doku_snap.merchant_answer("inquiry", request, result).json()["virtualAccountData"]
    assert (data["trxId"], data["virtualAccountEmail"], data["expiredDate"], data["virtualAccountTrxType"]) == \
        ("INV/1", "budi@example.com", "2026-12-31T23:59:59+07:00", "O")
    assert "virtualAccountPhone" not in data  # None is left out
    assert data["additionalInfo"] == {"channel": "VIRTUAL_ACCOUNT_BANK_MANDIRI", "note": "ñ"}


REQUEST = json.loads(INQUIRY_BODY)


@pytest.mark.parametrize("args, message", [
    (("refund", REQUEST, BILL), "operation must be one of inquiry, payment_notification, debit_notification"),
    ((None, REQUEST, BILL), "operation must be str, not NoneType"),
    (("inquiry\0", REQUEST, BILL), "operation contains a NUL character"),
    (("inquiry", INQUIRY_BODY, BILL), "request must be a mapping (the verdict's request), not str"),
    (("inquiry", None, BILL), "request must be a mapping (the verdict's request), not NoneType"),
    (("inquiry", {}, BILL), 'request_json: partnerServiceId is missing (pass the verdict\'s "request" as it is)'),
    (("inquiry", {**REQUEST, "inquiryRequestId": None}, BILL),
     'request_json: inquiryRequestId is missing (pass the verdict\'s "request" as it is)'),
    (("inquiry", {**REQUEST, "x": {1}}, BILL),
     "request cannot be encoded as JSON: Object of type set is not JSON serializable"),
    (("inquiry", {**REQUEST, "x": "\udc80"}, BILL), "request is not valid Unicode (a lone surrogate)"),
    (("inquiry", REQUEST, [("refuse", "bill_paid")]), "result must be a mapping or None, not list"),
    (("inquiry", REQUEST, '{"refuse":"bill_paid"}'), "result must be a mapping or None, not str"),
    (("inquiry", REQUEST, None), "result_json: virtualAccountName is required (the bill's name)"),
    (("inquiry", REQUEST, {"virtualAccountName": "B"}),
     'result_json: totalAmount is required, e.g. {"value":"10000.00","currency":"IDR"}'),
    (("inquiry", REQUEST, {**BILL, "totalAmount": {"value": "10000", "currency": "IDR"}}),
     'result_json: totalAmount: value must be a string of digits with two decimals, e.g. "10000.00"'),
    (("inquiry", REQUEST, {**BILL, "totalAmount": {"value": "1.00", "currency": "idr"}}),
     'result_json: totalAmount: currency must be an ISO 4217 code such as "IDR"'),
    (("inquiry", REQUEST, {**BILL, "totalAmount": {"value": float("nan"), "currency": "IDR"}}),
     "result cannot be encoded as JSON: Out of range float values are not JSON compliant"),
    (("inquiry", REQUEST, {**BILL, "expiredDate": "tomorrow"}),
     "result_json: expiredDate must be ISO-8601 with an offset, e.g. 2026-12-31T23:59:59+07:00"),
    (("inquiry", REQUEST, {**BILL, "additionalInfo": "x"}), "result_json: additionalInfo must be an object"),
    (("inquiry", REQUEST, {"refuse": "bill_paid", "trxId": "1"}), "result_json: trxId has no place in a refusal"),
    (("inquiry", REQUEST, {"refuse": "nope"}), "result_json: refuse must be one of bill_not_found, "
                                               "invalid_amount, bill_paid, bill_expired, general_error for inquiry"),
    (("debit_notification", json.loads(DEBIT_BODY), {"refuse": "bill_paid"}),
     "result_json: refuse must be one of general_error for debit_notification"),
    (("payment_notification", json.loads(PAYMENT_BODY), {"trxId": "x"}), 'result_json: unknown key "trxId"'),
])
def test_answer_argument_errors(args, message):
    raises(INVALID, doku_snap.Status.INVALID_ARGUMENT, message, doku_snap.merchant_answer, *args,
           prefix=message.endswith('"trxId"'))


VERIFY_KNOWN = ("(known keys: client_id, client_secret, client_secret_file, merchant_public_key, "
                "merchant_public_key_file, max_skew_s, operation)")


@pytest.mark.parametrize("overrides, cls, message", [
    ({"client_id": None}, INVALID, "options: client_id is required"),
    ({"client_id": ""}, INVALID, "options: client_id is empty"),
    ({"client_secret": None}, INVALID, "options: client_secret or client_secret_file is required"),
    ({"client_secret": ""}, INVALID, "options: client_secret is empty"),
    ({"client_secret_file": "/x"}, INVALID, "options: set client_secret or client_secret_file, not both"),
    ({"merchant_public_key_file": None}, INVALID,
     "options: merchant_public_key or merchant_public_key_file is required"),
    ({"merchant_public_key": "k"}, INVALID,
     "options: set merchant_public_key or merchant_public_key_file, not both"),
    ({"secret": "x"}, INVALID, 'options: unknown key "secret" ' + VERIFY_KNOWN),
    ({"ttl_s": 900}, INVALID, 'options: unknown key "ttl_s" ' + VERIFY_KNOWN),
    ({"max_skew_s": 0}, INVALID, "options: max_skew_s must be an integer ≥ 1"),
    ({"max_skew_s": 3601}, INVALID, "options: max_skew_s must be at most 3600"),
    ({"operation": "refund"}, INVALID,
     "options: operation must be one of inquiry, payment_notification, debit_notification"),
    ({"max_skew_s": "300"}, INVALID, "options: max_skew_s must be a number"),
    ({"max_skew_s": float("inf")}, INVALID, "options: max_skew_s is not a finite number"),
    ({"client_secret": b"x"}, INVALID, "options: client_secret cannot be encoded as JSON (bytes)"),
    ({"merchant_public_key_file": None, "merchant_public_key": "not a key"}, KEY,
     "options: merchant_public_key: the public key is neither PEM (-----BEGIN ...) nor base64 of a DER key"),
])
def test_verify_option_errors(options, token, overrides, cls, message):
    status = doku_snap.Status.KEY if cls is KEY else doku_snap.Status.INVALID_ARGUMENT
    e = raises(cls, status, message, doku_snap.merchant_verify, {**options, **overrides}, "POST",
               PAYMENT, signed(token), PAYMENT_BODY)
    assert SECRET not in repr(e) and token not in repr(e)


def test_verify_key_and_file_errors(options, keys, tmp_path):
    missing = tmp_path / "missing.pem"
    call = doku_snap.merchant_verify
    raises(KEY, doku_snap.Status.KEY, f'options: merchant_public_key_file "{missing}" cannot be read: ',
           call, {**options, "merchant_public_key_file": missing}, "POST", PAYMENT, {}, None, prefix=True)
    raises(KEY, doku_snap.Status.KEY,
           "options: merchant_public_key_file: expected a public key but got a private key (BEGIN PRIVATE KEY)",
           call, {**options, "merchant_public_key_file": keys.pkcs8}, "POST", PAYMENT, {}, None)
    empty = tmp_path / "empty-secret"
    empty.write_text("\n")
    # The merchant's own trouble (a secret file being rotated): KEY, like a key file, so that
    # the merchant answers 500 and DOKU retries.
    raises(KEY, doku_snap.Status.KEY, "options: client_secret_file is empty",
           call, {**options, "client_secret": None, "client_secret_file": empty}, "POST", PAYMENT, {}, None)
    # A secret pasted where a path goes, or where the key goes: never shown.
    e = raises(KEY, doku_snap.Status.KEY, "options: client_secret_file cannot be read: ",
               call, {**options, "client_secret": None, "client_secret_file": SECRET}, "POST", PAYMENT,
               {}, None, prefix=True)
    assert SECRET not in repr(e)
    e = raises(KEY, doku_snap.Status.KEY, "options: merchant_public_key: ", call,
               {**options, "merchant_public_key_file": None, "merchant_public_key": SECRET}, "POST",
               PAYMENT, {}, None, prefix=True)
    assert SECRET not in repr(e)
    private = keys.pkcs8.read_text()
    e = raises(KEY, doku_snap.Status.KEY,
               "options: merchant_public_key: expected a public key but got a private key (BEGIN PRIVATE KEY)",
               call, {**options, "merchant_public_key_file": None, "merchant_public_key": private},
               "POST", PAYMENT, {}, None)
    assert not any(line in repr(e) for line in private.splitlines()[1:-1])


@pytest.mark.parametrize("args, message", [
    ((None, "POST", PAYMENT, {}, None), "options must be a mapping of option names to values, not NoneType"),
    (("{}", "POST", PAYMENT, {}, None), "options must be a mapping of option names to values, not str"),
    ((..., None, PAYMENT, {}, None), "method must be str, not NoneType"),
    ((..., "POST", b"/v1.1/\xff", {}, None), "path is not valid UTF-8"),
    ((..., "POST", PAYMENT + "\0", {}, None), "path contains a NUL character"),
    ((..., "POST", PAYMENT, {"X-TIMESTAMP": 1}, None),
     "headers_json must be a JSON object of header names to string values"),
    ((..., "POST", PAYMENT, {}, 42), "body must be bytes or str, not int"),
    ((..., "POST", PAYMENT, {}, {"a": 1}), "body must be bytes or str, not dict"),
    ((..., "POST", PAYMENT, {}, "x\udc80"), "body is not valid Unicode: surrogates not allowed"),
])
def test_verify_argument_errors(options, args, message):
    args = tuple(options if a is ... else a for a in args)
    raises(INVALID, doku_snap.Status.INVALID_ARGUMENT, message, doku_snap.merchant_verify, *args)


def test_headers_that_are_not_a_mapping(options):
    raises(INVALID, doku_snap.Status.INVALID_ARGUMENT, "headers must be a mapping of str to str: ",
           doku_snap.merchant_verify, options, "POST", PAYMENT, ["not", "headers"], None, prefix=True)
