"""The official Python SDK itself (doku-python-library, as tests/interop installs it) making
create-VA calls against the TLS sandbox, one thread, for `make bench`'s operations table: what a
merchant on DOKU's SDK gets per call, all its costs included (its token handling, its signing, a
new connection per call). Run with the SDK's own interpreter; prints "name value" lines.
Usage: operations_sdk.py URL CLIENT_ID KEYFILE SECRET DOKU_PUBLIC_KEY_FILE SECONDS
(the sandbox's CA comes from REQUESTS_CA_BUNDLE)."""
import sys
import time

from doku_python_library.src.commons import config
from doku_python_library.src.model.va.additional_info import AdditionalInfo
from doku_python_library.src.model.va.create_va_request import CreateVARequest
from doku_python_library.src.model.va.total_amount import TotalAmount
from doku_python_library.src.model.va.virtual_account_config import VirtualAccountConfig
from doku_python_library.src.snap import DokuSNAP

url, client_id, key_file, secret, doku_public_file, seconds = sys.argv[1:7]
seconds = float(seconds)
config._Development.BASE_URL = url  # the SDK has no setting for it
client = DokuSNAP(private_key=open(key_file).read(), client_id=client_id, is_production=False,
                  public_key=open(doku_public_file).read(), issuer="doku-snap-bench", secret_key=secret,
                  merchant_public_key="")
n = 0


def create_va() -> None:
    global n
    n += 1
    request = CreateVARequest(
        partner_service_id="  888994", customer_no="1", virtual_account_no="  8889941", virtual_acc_name="Bench",
        trx_id=f"SDK-{n}", virtual_acc_trx_type="C", total_amount=TotalAmount(value="10000.00", currency="IDR"),
        additional_info=AdditionalInfo(channel="VIRTUAL_ACCOUNT_BANK_CIMB", virtual_account_config=VirtualAccountConfig(reusable_status=False)),
        expired_date="2030-12-31T23:59:59+07:00")  # the SDK fails without one
    answer = client.create_va(request)
    if answer.response_code != "2002700":
        raise SystemExit(f"create_va: unexpected answer {answer.response_code}: {answer.response_message}")


create_va()
times, start = [], time.perf_counter()
while time.perf_counter() - start < seconds:
    t0 = time.perf_counter()
    create_va()
    times.append(time.perf_counter() - t0)
times.sort()
print(f"python_official_sdk_create_va_per_s {len(times) / (time.perf_counter() - start):.1f}")
print(f"python_official_sdk_create_va_p50_us {times[len(times) // 2] * 1e6:.0f}")
print(f"python_official_sdk_create_va_p99_us {times[int(len(times) * 0.99)] * 1e6:.0f}")
