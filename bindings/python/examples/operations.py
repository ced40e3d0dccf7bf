"""DOKU's operations by name, against doku-sandbox: a virtual account's life (create, the customer
paying through the sandbox's simulator, status) and a Direct Debit (binding, customer token,
payment, refund, status). One line per step; exit 0 when every answer is the expected one.

Reads DOKU_BASE_URL, DOKU_CLIENT_ID, DOKU_PRIVATE_KEY_FILE, DOKU_CLIENT_SECRET and DOKU_CA_FILE
(optional). The simulated payment (/sandbox/v1/pay-va) exists only in the sandbox.
"""

import os
import sys
import time

import doku_snap

CHANNEL = {"channel": "DIRECT_DEBIT_ALLO_SNAP"}
CUSTOMER_IP = "203.0.113.7"  # the customer's, as the merchant's web server saw it


class Unexpected(Exception):
    pass


def expect(step: str, r: doku_snap.Response, code: str) -> dict:
    """The answer's body when DOKU answered `code`; else stop, showing what it said."""
    if r.response_code != code:
        raise Unexpected(f"{step}: expected {code}, got HTTP {r.http_status}: {r.body}")
    return r.json()


def virtual_account(client: doku_snap.Client, client_id: str, run: str) -> None:
    customer_no = run[-12:]
    va_no = "  888994" + customer_no
    va = {"partnerServiceId": "  888994", "customerNo": customer_no, "virtualAccountNo": va_no}
    bill = {**va, "virtualAccountName": "Budi Santoso", "trxId": f"INV/{run}",
            "totalAmount": {"value": "10000.00", "currency": "IDR"}, "virtualAccountTrxType": "C"}
    expect("create_va", client.create_va(bill), "2002700")
    print(f'python: create_va 2002700: virtual account "{va_no}" for 10000.00 IDR')
    show_status(client, va)
    # The customer pays at the bank; the sandbox plays that part.
    expect("pay-va", client.request("POST", f"/sandbox/v1/pay-va?client={client_id}",
                                    {"virtualAccountNo": va_no}), "2000000")
    print("python: sandbox pay-va 2000000: the customer paid")
    show_status(client, va)


def show_status(client: doku_snap.Client, va: dict) -> None:
    data = expect("check_status_va", client.check_status_va(va), "2002600")["virtualAccountData"]
    print(f"python: check_status_va 2002600: {data['paymentFlagReason']['english']}, "
          f"paidAmount {data['paidAmount']['value']}")


def direct_debit(client: doku_snap.Client, run: str) -> None:
    binding = {"phoneNo": "62813941306101", "additionalInfo": {
        **CHANNEL, "custIdMerchant": f"cust-{run}",
        "successRegistrationUrl": "https://merchant.example/ok",
        "failedRegistrationUrl": "https://merchant.example/failed"}}
    bound = expect("account_binding", client.account_binding(
        binding, ip_address=CUSTOMER_IP, device_id="device-1"), "2000700")
    print("python: account_binding 2000700: the customer approves at redirectUrl")
    # DOKU sends the customer back with the auth code; it buys the customer's token, once.
    token = client.get_token_b2b2c(bound["additionalInfo"]["authCode"])["accessToken"]
    print("python: get_token_b2b2c 2007400: customer token")
    customer = {"customer_token": token, "ip_address": CUSTOMER_IP}
    order = f"ORDER-{run}"
    payment = {"partnerReferenceNo": order, "amount": {"value": "25000.00", "currency": "IDR"},
               "additionalInfo": CHANNEL}
    # A lost answer raises OutcomeUnknownError: never pay again then, ask check_status.
    expect("payment", client.payment(payment, **customer), "2005400")
    print(f"python: payment 2005400: {order} 25000.00 IDR")
    refund = {"originalPartnerReferenceNo": order, "partnerRefundNo": f"REFUND-{run}",
              "refundAmount": {"value": "10000.00", "currency": "IDR"}, "additionalInfo": CHANNEL}
    expect("refund", client.refund(refund, **customer), "2000700")
    print("python: refund 2000700: 10000.00 IDR")
    status = expect("check_status", client.check_status(
        {"originalPartnerReferenceNo": order, "serviceCode": "54"}), "2005500")
    print(f"python: check_status 2005500: latestTransactionStatus {status['latestTransactionStatus']}, "
          f"{len(status['refundHistory'])} refund")


def main() -> int:
    env = os.environ
    try:
        config = dict(client_id=env["DOKU_CLIENT_ID"], private_key_file=env["DOKU_PRIVATE_KEY_FILE"],
                      client_secret=env["DOKU_CLIENT_SECRET"], channel_id="H2H",
                      base_url=env.get("DOKU_BASE_URL") or None,  # None: the environment's default
                      ca_file=env.get("DOKU_CA_FILE") or None)
    except KeyError as e:
        print(f"python: set {e.args[0]}", file=sys.stderr)
        return 2
    # Unique per run: the sandbox remembers bills and references, as DOKU does.
    run = time.strftime("%Y%m%d%H%M%S") + f"{time.time_ns() // 1000 % 1000000:06d}"
    try:
        with doku_snap.Client(config) as client:
            virtual_account(client, config["client_id"], run)
            direct_debit(client, run)
    except Unexpected as e:
        print(f"python: {e}", file=sys.stderr)
        return 1
    except doku_snap.DokuError as e:
        code = f" ({e.response_code})" if e.response_code else ""
        print(f"python: {type(e).__name__}{code}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
