"""Client.call and the named operations against the TLS sandbox: the catalog and its methods, a
virtual account's life, a Direct Debit from binding to unbinding, the checks made before
sending, the money rule (a payment whose answer is lost is OutcomeUnknownError, other calls
keep their timeout), and examples/operations.py."""

import inspect
import json
import logging
import os
import re
import socket
import subprocess
import sys
import types
from pathlib import Path

import pytest

import doku_snap
from conftest import TLS_SECRETS

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "operations.py"
CHANNEL = {"channel": "DIRECT_DEBIT_ALLO_SNAP"}
IP = "203.0.113.7"
CREATE_VA = "/virtual-accounts/bi-snap-va/v1.1/transfer-va/create-va"
# The option keys of options_json and the catalog, as the keyword names of the binding.
SNAKE = {"customerToken": "customer_token", "ipAddress": "ip_address", "deviceId": "device_id"}


@pytest.fixture
def ops_client(tls_sandbox, keys):
    """Client(client_id, **overrides) on the TLS sandbox with the client's secret, closed after
    the test."""
    made = []

    def make(client_id, **overrides):
        config = dict(client_id=client_id, private_key_file=keys.pkcs8, base_url=tls_sandbox.url,
                      ca_file=tls_sandbox.ca_file, proxy="", timeout_ms=10000,
                      client_secret=TLS_SECRETS[client_id], channel_id="H2H")
        config.update(overrides)
        made.append(doku_snap.Client(config))
        return made[-1]

    yield make
    for c in made:
        c.close()


@pytest.fixture
def offline_client(keys):
    """A client whose base URL nothing listens on: a call that reaches the network fails with
    NetworkError, so an InvalidArgumentError proves that the check came before sending."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with doku_snap.Client(client_id="py-offline", private_key_file=keys.pkcs8, proxy="",
                          base_url=f"http://127.0.0.1:{port}", client_secret="SK-offline",
                          channel_id="H2H") as client:
        yield client


def expect(r, status, code):
    """The answer's body, parsed, after checking its HTTP status and responseCode."""
    assert (r.http_status, r.response_code) == (status, code), r.body
    return r.json()


def va(customer, trx, value):
    return {"partnerServiceId": "  888994", "customerNo": customer,
            "virtualAccountNo": "  888994" + customer, "virtualAccountName": "Śiti Nurhaliza / Toko",
            "trxId": trx, "totalAmount": {"value": value, "currency": "IDR"},
            "virtualAccountTrxType": "C"}


def va_id(customer):
    return {"partnerServiceId": "  888994", "customerNo": customer, "virtualAccountNo": "  888994" + customer}


def payment_body(reference, value="25000.00"):
    return {"partnerReferenceNo": reference, "amount": {"value": value, "currency": "IDR"},
            "additionalInfo": CHANNEL}


BINDING = {"phoneNo": "62813941306101", "additionalInfo": {
    **CHANNEL, "custIdMerchant": "cust-py", "successRegistrationUrl": "https://merchant.example/ok",
    "failedRegistrationUrl": "https://merchant.example/failed"}}


def bind(client):
    """Binds an account and returns the customer's token."""
    bound = expect(client.account_binding(BINDING, ip_address=IP, device_id="device-1"), 200, "2000700")
    return client.get_token_b2b2c(bound["additionalInfo"]["authCode"])["accessToken"]


# --- the catalog and its named methods ------------------------------------------------------

def named_methods():
    return {name: m for name, m in vars(doku_snap.Client).items() if hasattr(m, "operation")}


def test_every_catalog_operation_has_its_named_method_and_no_other():
    catalog = [op["name"] for op in doku_snap.operations()]
    assert catalog[:4] == ["create_va", "update_va", "delete_va", "check_status_va"], catalog
    methods = named_methods()
    assert sorted(methods) == sorted(catalog)
    for name, method in methods.items():
        assert method.operation == name
        assert str(inspect.signature(method)) == "(self, body: 'JsonBody', **options: 'Unpack[CallOptions]') -> 'Response'"


def test_each_named_method_calls_its_operation(offline_client):
    # An empty body breaks every operation's rules (or its options are missing first): the
    # message names the operation the method called, and nothing was sent.
    for name in named_methods():
        with pytest.raises(doku_snap.InvalidArgumentError) as info:
            getattr(offline_client, name)({})
        assert str(info.value).startswith(f"{name}: "), (name, str(info.value))


def test_each_docstring_names_the_options_its_operation_requires_and_accepts():
    for op in doku_snap.operations():
        doc = inspect.getdoc(getattr(doku_snap.Client, op["name"]))
        line = doc.splitlines()[-1]
        m = re.fullmatch(r"Options: (none|[\w, ]+?) required(?:; ([\w, ]+) accepted)?\.", line)
        assert m, f"{op['name']}: {line!r}"
        required = [] if m.group(1) == "none" else m.group(1).split(", ")
        accepted = m.group(2).split(", ") if m.group(2) else []
        assert required == [SNAKE[k] for k in op["required"]], op["name"]
        assert accepted == [SNAKE[k] for k in op["accepted"]], op["name"]
        assert ("OutcomeUnknownError" in doc) == op["movesMoney"], op["name"]


def test_the_catalog_as_parsed():
    payment = next(op for op in doku_snap.operations() if op["name"] == "payment")
    assert {k: payment[k] for k in ("method", "path", "service", "success", "required", "accepted",
                                    "movesMoney", "statusOperation")} == {
        "method": "POST", "path": "/direct-debit/core/v1/debit/payment-host-to-host", "service": "54",
        "success": ["2005400"], "required": ["customerToken", "ipAddress"], "accepted": ["deviceId"],
        "movesMoney": True, "statusOperation": "check_status"}
    assert payment["fields"][0] == {"name": "partnerReferenceNo", "mandatory": True,
                                    "rule": "a string of 1 to 64 characters"}
    # A fresh list each time: a caller changing it changes nobody else's.
    doku_snap.operations()[0]["name"] = "changed"
    assert doku_snap.operations()[0]["name"] == "create_va"


# --- the flows --------------------------------------------------------------------------------

def test_a_virtual_account_s_life(ops_client, tls_sandbox):
    client = ops_client("py-ops-va")
    r = client.create_va(va("2001", "INV/PY/2001", "11500.00"),
                         headers=types.MappingProxyType({"X-LATITUDE": "-6.2"}))  # any Mapping
    created = expect(r, 200, "2002700")
    assert created["virtualAccountData"]["virtualAccountName"] == "Śiti Nurhaliza / Toko"
    assert r.operation == "create_va" and re.fullmatch(r"\d{36}", r.external_id), r
    r = client.update_va(va("2001", "INV/PY/2001", "12000.00"))
    expect(r, 200, "2002800")
    assert r.operation == "update_va"
    unpaid = expect(client.check_status_va(va_id("2001")), 200, "2002600")["virtualAccountData"]
    assert unpaid["paidAmount"] == {"value": "0.00", "currency": "IDR"}
    assert unpaid["paymentFlagReason"]["english"] == "Unpaid"
    assert unpaid["billDetails"][0]["billAmount"]["value"] == "12000.00"

    # The customer pays, through the sandbox's simulator: a raw request, no operation.
    r = client.request("POST", "/sandbox/v1/pay-va?client=py-ops-va", {"virtualAccountNo": "  8889942001"})
    expect(r, 200, "2000000")
    assert r.operation is None and re.fullmatch(r"\d{36}", r.external_id)
    paid = expect(client.check_status_va(va_id("2001")), 200, "2002600")["virtualAccountData"]
    assert paid["paidAmount"] == {"value": "12000.00", "currency": "IDR"}
    assert paid["paymentFlagReason"]["english"] == "Paid"
    expect(client.delete_va(va_id("2001")), 404, "4043114")  # a paid bill stays

    # The caller's X-EXTERNAL-ID is the one sent: its second use the same day is a duplicate.
    external_id = "20261201000000000000000000000000001"
    r = client.check_status_va(va_id("2001"), external_id=external_id)
    expect(r, 200, "2002600")
    assert r.external_id == external_id
    duplicate = expect(client.call("check_status_va", va_id("2001"), external_id=external_id), 409, "4092600")
    assert duplicate["responseMessage"] == "Conflict. Duplicate X-EXTERNAL-ID"


def test_channel_id_as_an_option(ops_client):
    client = ops_client("py-ops-va", channel_id=None)
    with pytest.raises(doku_snap.InvalidArgumentError) as info:
        client.create_va(va("2002", "INV/PY/2002", "5000.00"))
    assert str(info.value) == "config: channel_id is required for signed transaction requests (or options: channelId)"
    expect(client.create_va(va("2002", "INV/PY/2002", "5000.00"), channel_id="H2H"), 200, "2002700")
    expect(client.delete_va(va_id("2002"), channel_id="H2H"), 200, "2003100")


def test_direct_debit_from_binding_to_unbinding(ops_client):
    client = ops_client("py-ops-dd")
    r = client.account_binding(BINDING, ip_address=IP, device_id="device-1")
    bound = expect(r, 200, "2000700")
    assert r.operation == "account_binding" and bound["redirectUrl"].startswith("https://"), bound
    token = client.get_token_b2b2c(bound["additionalInfo"]["authCode"])["accessToken"]
    with pytest.raises(doku_snap.ApiError) as info:  # an auth code is good once
        client.get_token_b2b2c(bound["additionalInfo"]["authCode"])
    assert info.value.response_code == "4017401"
    customer = dict(customer_token=token, ip_address=IP)

    r = client.payment(payment_body("PY-ORDER-1"), **customer, device_id="device-1")
    assert expect(r, 200, "2005400")["partnerReferenceNo"] == "PY-ORDER-1"
    assert r.operation == "payment"
    expect(client.payment(payment_body("PY-ORDER-1"), **customer), 409, "4095401")  # not twice
    status = expect(client.check_status({"originalPartnerReferenceNo": "PY-ORDER-1", "serviceCode": "54"}),
                    200, "2005500")
    assert (status["latestTransactionStatus"], status["transAmount"]["value"]) == ("00", "25000.00")

    def refund(number, value):
        return client.refund({"originalPartnerReferenceNo": "PY-ORDER-1", "partnerRefundNo": number,
                              "refundAmount": {"value": value, "currency": "IDR"}, "additionalInfo": CHANNEL},
                             **customer)

    partial = expect(refund("PY-REF-1", "10000.00"), 200, "2000700")
    assert (partial["refundAmount"]["value"], partial["partnerRefundNo"]) == ("10000.00", "PY-REF-1")
    over = expect(refund("PY-REF-2", "15000.01"), 404, "4040713")
    assert over["responseMessage"] == "Invalid Amount: 15000.00 is left to refund"

    # 1,000,000.00 per binding, less the 15000.00 still paid.
    balance = expect(client.balance_inquiry({"additionalInfo": CHANNEL}, **customer), 200, "2001100")
    assert balance["accountInfos"][0]["amount"]["value"] == "985000.00"
    # request() sends its options as given, unchecked: the same answer, no operation.
    r = client.request("POST", "/direct-debit/core/v1/balance-inquiry", {"additionalInfo": CHANNEL}, **customer)
    assert expect(r, 200, "2001100") == balance and r.operation is None

    # Jump-app: no customer token; the device and IP address instead.
    jump = {**payment_body("PY-ORDER-3", "5000.00"), "additionalInfo": {"channel": "EMONEY_DANA_SNAP"},
            "urlParam": {"url": "https://merchant.example/return", "type": "PAY_RETURN", "isDeepLink": "N"}}
    r = client.payment_jump_app(jump, ip_address=IP, device_id="device-1")
    assert expect(r, 200, "2005400")["webRedirectUrl"].startswith("https://")

    expect(client.account_unbinding({"tokenId": token, "additionalInfo": CHANNEL}, ip_address=IP), 200, "2000500")
    refused = expect(client.payment(payment_body("PY-ORDER-2", "1.00"), **customer), 401, "4015402")
    assert refused["responseMessage"].startswith("Invalid Customer Token: the token was revoked"), refused
    assert client.stats()["fetches"] == 1, "a refused customer token is not retried with a new B2B token"

    # Cards: registration answers an auth code too; unbinding takes its token.
    card = {"cardData": "c2VhbGVkIGNhcmQ=|aXY=", "custIdMerchant": "cust-py-2", "phoneNo": "62813941306102",
            "additionalInfo": {"channel": "DIRECT_DEBIT_BRI_SNAP", "successRegistrationUrl": "https://merchant.example/ok",
                               "failedRegistrationUrl": "https://merchant.example/failed"}}
    registered = expect(client.card_registration(card, ip_address=IP), 200, "2000100")
    card_token = client.get_token_b2b2c(registered["additionalInfo"]["authCode"])["accessToken"]
    unbind = {"tokenId": card_token, "additionalInfo": {"channel": "DIRECT_DEBIT_BRI_SNAP"}}
    expect(client.card_unbinding(unbind), 200, "2000500")


# --- checks before sending --------------------------------------------------------------------

def test_bodies_are_checked_before_sending(offline_client):
    body = {**va("12", "INV/CHECK", "10000.00"), "partnerServiceId": " 888994"}
    with pytest.raises(doku_snap.InvalidArgumentError) as info:
        offline_client.create_va(body)
    assert info.value.status == doku_snap.Status.INVALID_ARGUMENT
    assert str(info.value) == ('create_va: body: Invalid Field Format partnerServiceId (8 characters: digits '
                               'left-padded with spaces, e.g. "  888994"; 7 characters given)')
    with pytest.raises(doku_snap.InvalidArgumentError) as info:
        offline_client.call("create_va", {k: v for k, v in va("12", "INV/CHECK", "1.00").items() if k != "trxId"})
    assert str(info.value) == "create_va: body: Invalid Mandatory Field trxId"
    # The same call with a good body reaches for the network: the checks above came first.
    with pytest.raises(doku_snap.NetworkError):
        offline_client.create_va(va("12", "INV/CHECK", "10000.00"))


def test_options_are_checked_before_sending(offline_client):
    body = payment_body("PY-CHECK-1", "1.00")
    cases = [
        ({}, "payment: options: customerToken is required (Authorization-Customer)"),
        ({"customer_token": "t"}, "payment: options: ipAddress is required (X-IP-ADDRESS)"),
        ({"customer_token": "t", "ip_address": "1.2.3"},
         "options: ipAddress must be the customer's IPv4 or IPv6 address, e.g. 203.0.113.7"),
        ({"customer_token": "t", "ip_address": IP, "headers": {"X-SIGNATURE": "forged"}},
         "options: headers: X-SIGNATURE may not be set here (the signed headers are the library's; "
         "use ipAddress, deviceId or externalId)"),
        ({"customer_token": "t", "ip_address": IP, "headers": {"Authorization": "Bearer x"}},
         "options: headers: \"Authorization\" is not an X-… header name (letters, digits and '-', at most 64 characters)"),
        ({"customer_token": "t", "ip_address": IP, "headers": {"X-A": "1\r\nX-B: 2"}},
         "options: headers: X-A must be at most 1024 characters of visible ASCII"),
        ({"customer_token": "t", "ip_address": IP, "external_id": "abc-1"},
         "options: externalId must be what DOKU documents: 1 to 36 digits, unique per day"),
        ({"customer_token": "t\0u", "ip_address": IP},
         "options: customerToken contains a NUL character"),
        ({"customer_token": 7, "ip_address": IP}, "options: customerToken must be a string"),
    ]
    for options, message in cases:
        with pytest.raises(doku_snap.InvalidArgumentError) as info:
            offline_client.payment(body, **options)
        assert str(info.value) == message, options
    # An option the operation does not send is refused, not ignored.
    with pytest.raises(doku_snap.InvalidArgumentError) as info:
        offline_client.create_va(va("12", "INV/CHECK", "1.00"), customer_token="t")
    assert str(info.value) == "create_va: options: customerToken is not sent with this operation"
    # request() checks the options' formats too (it requires none).
    with pytest.raises(doku_snap.InvalidArgumentError) as info:
        offline_client.request("POST", CREATE_VA, "{}", headers={"X-TIMESTAMP": "1"})
    assert str(info.value).startswith("options: headers: X-TIMESTAMP may not be set here")
    # A customer token never shows in a message.
    secret = "customer-token with a space"
    with pytest.raises(doku_snap.InvalidArgumentError) as info:
        offline_client.payment(body, customer_token=secret, ip_address=IP)
    assert str(info.value) == ("options: customerToken must be the customer's B2B2C access token "
                               "(visible ASCII, not empty)")
    # Misspelt options are Python's TypeError; unknown operations the core's.
    with pytest.raises(TypeError):
        offline_client.payment(body, customerToken="t")  # type: ignore[call-arg]
    with pytest.raises(doku_snap.InvalidArgumentError) as info:
        offline_client.call("create_vaa", {})
    assert str(info.value).startswith('unknown operation "create_vaa" (known: create_va, update_va,'), str(info.value)


# --- the money rule ---------------------------------------------------------------------------

def test_a_lost_answer_to_a_payment_is_outcome_unknown(ops_client, caplog, keys):
    caplog.set_level(logging.DEBUG, logger="doku_snap")
    # Every answer to py-ops-slow takes 1.5 s. Both clients share one B2B token (same base URL,
    # client id and key): the patient one fetches it, so the hasty one's payment is sent at once.
    patient = ops_client("py-ops-slow")
    hasty = ops_client("py-ops-slow", timeout_ms=600)
    customer = dict(customer_token=bind(patient), ip_address=IP)

    with pytest.raises(doku_snap.OutcomeUnknownError) as info:
        hasty.payment(payment_body("PY-SLOW-1", "700.00"), **customer)
    e = info.value
    assert e.status == doku_snap.Status.OUTCOME_UNKNOWN == 11 and e.response_code is None
    assert not isinstance(e, (TimeoutError, doku_snap.NetworkError)), "must not be retried as a timeout"
    assert str(e).startswith("payment: outcome unknown: timed out waiting for an answer from localhost"), str(e)
    assert str(e).endswith('the request was sent, so DOKU may have acted on it. Do not send it again: '
                           'call check_status with originalPartnerReferenceNo "PY-SLOW-1" to learn its result'), str(e)
    assert [(r.levelno, r.getMessage()) for r in caplog.records if getattr(r, "event", None) == "outcome_unknown"] == [
        (logging.ERROR, str(e))]
    # DOKU did act on it: the status says so.
    status = expect(patient.check_status({"originalPartnerReferenceNo": "PY-SLOW-1", "serviceCode": "54"}),
                    200, "2005500")
    assert status["latestTransactionStatus"] == "00"

    # A refund is money too.
    with pytest.raises(doku_snap.OutcomeUnknownError) as info:
        hasty.refund({"originalPartnerReferenceNo": "PY-SLOW-1", "partnerRefundNo": "PY-SLOW-R1",
                      "refundAmount": {"value": "1.00", "currency": "IDR"}, "additionalInfo": CHANNEL}, **customer)
    assert 'call check_status with originalPartnerReferenceNo "PY-SLOW-1"' in str(info.value)
    # The same timeout on an operation that moves no money is a timeout.
    with pytest.raises(doku_snap.DokuTimeoutError) as info:
        hasty.balance_inquiry({"additionalInfo": CHANNEL}, **customer)
    assert info.value.status == doku_snap.Status.TIMEOUT and isinstance(info.value, TimeoutError)
    with pytest.raises(doku_snap.DokuTimeoutError):
        hasty.create_va(va("3001", "INV/PY/SLOW", "1.00"))
    # A token fetch that times out sent none of the payment: a timeout, not an unknown outcome.
    hasty.invalidate_token()
    with pytest.raises(doku_snap.DokuTimeoutError):
        hasty.payment(payment_body("PY-SLOW-2", "1.00"), **customer)


def test_a_payment_that_never_left_is_a_network_error(offline_client):
    with pytest.raises(doku_snap.NetworkError):
        offline_client.payment(payment_body("PY-NOWHERE", "1.00"), customer_token="t", ip_address=IP)


# --- examples/operations.py ---------------------------------------------------------------------

def run_example(**env):
    return subprocess.run([sys.executable, str(EXAMPLE)], env={**os.environ, **env}, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)


def test_the_example_runs_both_flows(tls_sandbox, keys):
    r = run_example(DOKU_BASE_URL=tls_sandbox.url, DOKU_CLIENT_ID="py-ops-example",
                    DOKU_PRIVATE_KEY_FILE=str(keys.pkcs8), DOKU_CLIENT_SECRET=TLS_SECRETS["py-ops-example"],
                    DOKU_CA_FILE=tls_sandbox.ca_file, NO_PROXY="*")
    assert (r.returncode, r.stderr) == (0, ""), r.stdout
    assert re.fullmatch(
        r'python: create_va 2002700: virtual account "  888994\d{12}" for 10000\.00 IDR\n'
        r"python: check_status_va 2002600: Unpaid, paidAmount 0\.00\n"
        r"python: sandbox pay-va 2000000: the customer paid\n"
        r"python: check_status_va 2002600: Paid, paidAmount 10000\.00\n"
        r"python: account_binding 2000700: the customer approves at redirectUrl\n"
        r"python: get_token_b2b2c 2007400: customer token\n"
        r"python: payment 2005400: ORDER-\d{20} 25000\.00 IDR\n"
        r"python: refund 2000700: 10000\.00 IDR\n"
        r"python: check_status 2005500: latestTransactionStatus 00, 1 refund\n", r.stdout), r.stdout


def test_the_example_reports_a_refusal(tls_sandbox, keys):
    r = run_example(DOKU_BASE_URL=tls_sandbox.url, DOKU_CLIENT_ID="py-ops-example",
                    DOKU_PRIVATE_KEY_FILE=str(keys.pkcs8), DOKU_CLIENT_SECRET="SK-wrong",
                    DOKU_CA_FILE=tls_sandbox.ca_file, NO_PROXY="*")
    assert (r.returncode, r.stdout) == (1, ""), r.stdout
    assert r.stderr.startswith("python: create_va: expected 2002700, got HTTP 401: "), r.stderr


RUN = Path(__file__).resolve().parents[3] / "tests" / "fixtures" / "every-operation.tsv"


def test_every_operation_in_the_shared_run(ops_client):
    """tests/fixtures/every-operation.tsv: every operation of the catalog once, through the named
    methods, as the Rust, C, C++ and PHP tests run it through theirs."""
    steps = [line.split("\t") for line in RUN.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    names = sorted(op for op, *_ in steps if op != "customer_token")
    assert names == sorted(op["name"] for op in doku_snap.operations())
    client = ops_client("py-ops-dd")
    n, auth_code, customer = str(os.getpid()), "", ""
    for op, code, body, options in steps:
        if op == "customer_token":
            customer = client.get_token_b2b2c(auth_code)["accessToken"]
            continue
        def fill(text):
            return None if text == "-" else text.replace("{n}", n).replace("{customerToken}", customer)
        opts = json.loads(fill(options) or "{}")
        kwargs = {SNAKE.get(key, key): value for key, value in opts.items()}
        answer = expect(getattr(client, op)(fill(body), **kwargs), 200, code)
        auth_code = (answer.get("additionalInfo") or {}).get("authCode", auth_code)
