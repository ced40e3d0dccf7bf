"""Drives DOKU's official Python SDK (doku-python-library) against doku-sandbox, as its README
uses it, changing only its base URL (the SDK has no setting for it: its Config class is patched).
Run with the SDK's own interpreter (a throwaway venv); prints one JSON object of what it saw.

argv: SANDBOX_URL CLIENT_ID PRIVATE_KEY_FILE WRONG_PRIVATE_KEY_FILE SECRET DOKU_PUBLIC_KEY_FILE
(the sandbox's CA comes from REQUESTS_CA_BUNDLE)."""

import json
import sys

from doku_python_library.src.commons import config
from doku_python_library.src.snap import DokuSNAP
from doku_python_library.src.model.va.create_va_request import CreateVARequest
from doku_python_library.src.model.va.total_amount import TotalAmount
from doku_python_library.src.model.va.additional_info import AdditionalInfo
from doku_python_library.src.model.va.virtual_account_config import VirtualAccountConfig

url, client_id, key_file, wrong_key_file, secret, doku_public_file = sys.argv[1:7]
config._Development.BASE_URL = url
read = lambda path: open(path).read()


def snap(private_key: str) -> DokuSNAP:
    # As the SDK's README: DokuSNAP(private_key, client_id, is_production, public_key (DOKU's),
    # issuer, secret_key, merchant_public_key); the constructor fetches a token.
    return DokuSNAP(private_key=private_key, client_id=client_id, is_production=False, public_key=read(doku_public_file),
                    issuer="doku-snap-interop", secret_key=secret, merchant_public_key="")


seen = {}
client = snap(read(key_file))
if not hasattr(client, "token_b2b"):  # the constructor's fetch raised; the SDK swallowed it
    failed = client.get_token()
    print(json.dumps({"token": failed.response_code, "message": failed.response_message}))
    sys.exit(1)
seen["token"] = client.token_b2b.response_code
seen["token_type"] = type(client.token_b2b.access_token).__name__
wrong = snap(read(wrong_key_file))
seen["wrong_key_token"] = wrong.token_b2b.response_code
request = CreateVARequest(
    partner_service_id="  888994", customer_no="00000000000000000001", virtual_account_no="  88899400000000000000000001",
    virtual_acc_name="Toko Interop", trx_id="INV-INTEROP-PY-1", virtual_acc_trx_type="C",
    total_amount=TotalAmount(value="11500.00", currency="IDR"),
    additional_info=AdditionalInfo(channel="VIRTUAL_ACCOUNT_BANK_CIMB", virtual_account_config=VirtualAccountConfig(reusable_status=False)),
    expired_date="2030-12-31T23:59:59+07:00")
answer = client.create_va(request)
seen["create_va"] = [answer.response_code, answer.response_message]
print(json.dumps(seen))
