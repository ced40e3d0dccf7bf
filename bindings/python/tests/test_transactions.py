"""Client.request / request_headers against the sandbox's create-va, and B2B2C tokens."""

import json
import threading
import types
import urllib.request

import pytest

import doku_snap
from conftest import SECRETS

CREATE_VA = "/virtual-accounts/bi-snap-va/v1.1/transfer-va/create-va"


def va_body(trx_id="INV/2026/11/0001"):
    return {
        "partnerServiceId": "  888994",
        "customerNo": "00000000000000000001",
        "virtualAccountNo": "  88899400000000000000000001",
        "virtualAccountName": "Budi Śantoso / Toko Kue Ñam",
        "trxId": trx_id,
        "totalAmount": {"value": "10000.00", "currency": "IDR"},
    }


@pytest.fixture
def va_client(make_client):
    def make(client_id, **overrides):
        config = {"client_secret": SECRETS.get(client_id, "SK-unknown"), "channel_id": "H2H", **overrides}
        return make_client(client_id, **config)
    return make


def test_create_va_with_a_dict_str_and_bytes(va_client):
    client = va_client("py-va")
    r = client.request("POST", CREATE_VA, va_body())
    assert isinstance(r, doku_snap.Response)
    assert (r.http_status, r.response_code) == (200, "2002700"), r.body
    data = r.json()["virtualAccountData"]
    assert data["virtualAccountName"] == "Budi Śantoso / Toko Kue Ñam" and data["trxId"] == "INV/2026/11/0001"
    pretty = json.dumps(va_body("INV/2"), indent=2, ensure_ascii=False)
    assert client.request("POST", CREATE_VA, pretty).response_code == "2002700"
    assert client.request("POST", CREATE_VA, pretty.encode()).response_code == "2002700"
    assert client.request("post", CREATE_VA, json.dumps(va_body("INV/3"))).response_code == "2002700"
    # Regression (review): a Mapping that is not a dict, at the top or nested, was refused.
    nested = {**va_body("INV/4"), "totalAmount": types.MappingProxyType({"value": "10000.00", "currency": "IDR"})}
    r = client.request("POST", CREATE_VA, types.MappingProxyType(nested))
    assert r.response_code == "2002700", r.body
    assert r.json()["virtualAccountData"]["totalAmount"] == {"value": "10000.00", "currency": "IDR"}


def test_refusals_are_responses_not_exceptions(va_client):
    client = va_client("py-va")
    r = client.request("POST", CREATE_VA, {**va_body(), "trxId": ""})  # a missing field
    assert (r.http_status, r.response_code) == (400, "4002702")
    assert "trxId" in r.json()["responseMessage"]
    wrong = va_client("py-va", client_secret="SK-wrong")
    r = wrong.request("POST", CREATE_VA, va_body())
    assert (r.http_status, r.response_code) == (401, "4012700")


def test_retry_after_revoke(va_client, sandbox):
    client = va_client("py-revoke")
    assert client.request("POST", CREATE_VA, va_body()).response_code == "2002700"
    assert sandbox.requests("py-revoke") == 1
    assert sandbox.post("/sandbox/v1/revoke?client=py-revoke")["revoked"] >= 1
    r = client.request("POST", CREATE_VA, va_body())
    assert (r.http_status, r.response_code) == (200, "2002700"), r.body  # 4012701, new token, retry
    assert sandbox.requests("py-revoke") == 2


def test_requests_from_threads(va_client):
    client = va_client("py-va-threads")
    codes, errors = [], []

    def work(n):
        try:
            codes.extend(client.request("POST", CREATE_VA, va_body(f"INV/T/{n}/{i}")).response_code for i in range(5))
        except Exception as e:
            errors.append(e)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and codes == ["2002700"] * 20


def test_request_headers_sent_with_urllib(va_client, sandbox):
    client = va_client("py-headers", partner_id="py-headers")
    body = json.dumps(va_body(), ensure_ascii=False, indent=1)
    headers = client.request_headers("POST", CREATE_VA, body)
    assert set(headers) == {"Authorization", "X-TIMESTAMP", "X-SIGNATURE", "X-PARTNER-ID", "X-EXTERNAL-ID",
                            "CHANNEL-ID", "Content-Type"}
    assert headers["Authorization"] == "Bearer " + client.get_token()
    assert headers["X-PARTNER-ID"] == "py-headers" and headers["CHANNEL-ID"] == "H2H"
    assert headers["X-EXTERNAL-ID"].isdigit() and len(headers["X-EXTERNAL-ID"]) <= 36
    assert headers["X-SIGNATURE"] == doku_snap.sign_request(
        SECRETS["py-headers"], "POST", CREATE_VA, client.get_token(), body, headers["X-TIMESTAMP"])
    # Our own HTTP stack, the body as given (not minified): the signature covers minify(body).
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    req = urllib.request.Request(sandbox.url + CREATE_VA, data=body.encode(), headers=headers, method="POST")
    with opener.open(req, timeout=10) as r:
        assert json.load(r)["responseCode"] == "2002700"
    # no body; a fresh X-EXTERNAL-ID every time
    assert client.request_headers("GET", "/x")["X-EXTERNAL-ID"] != headers["X-EXTERNAL-ID"]
    with pytest.raises(doku_snap.InvalidArgumentError, match="JSON text you send"):
        client.request_headers("POST", CREATE_VA, va_body())  # dicts: only request() encodes them


@pytest.mark.parametrize("drop, fragment", [("client_secret", "client_secret"), ("channel_id", "channel_id")])
def test_missing_secret_or_channel(make_client, drop, fragment):
    config = {"client_secret": "SK-x", "channel_id": "H2H"}
    del config[drop]
    client = make_client("py-nosecret", **config)
    for call in (lambda: client.request("POST", CREATE_VA, va_body()),
                 lambda: client.request_headers("POST", CREATE_VA, "{}")):
        with pytest.raises(doku_snap.InvalidArgumentError) as info:
            call()
        assert fragment in str(info.value) and info.value.status == doku_snap.Status.INVALID_ARGUMENT


def test_bad_request_arguments(va_client):
    client = va_client("py-va")
    with pytest.raises(doku_snap.InvalidArgumentError, match="JSON"):
        client.request("POST", CREATE_VA, "{not json")
    with pytest.raises(doku_snap.InvalidArgumentError, match="serialisable"):
        client.request("POST", CREATE_VA, {"amount": {1, 2}})
    with pytest.raises(doku_snap.InvalidArgumentError, match="serialisable"):
        client.request("POST", CREATE_VA, {"amount": float("nan")})
    with pytest.raises(doku_snap.InvalidArgumentError):
        client.request("POST", "no-leading-slash", None)


def test_b2b2c_get_and_refresh(make_client):
    client = make_client("py-b2b2c")
    token = client.get_token_b2b2c("auth-code-123")
    assert set(token) == {"accessToken", "tokenType", "accessTokenExpiryTime", "refreshToken",
                          "refreshTokenExpiryTime"}
    refreshed = client.refresh_token_b2b2c(token["refreshToken"])
    assert refreshed["accessToken"] and refreshed["accessToken"] != token["accessToken"]
    with pytest.raises(doku_snap.ApiError) as info:
        client.get_token_b2b2c("invalid-code")
    assert info.value.response_code == "4017401"
    with pytest.raises(doku_snap.ApiError):
        client.refresh_token_b2b2c("not-a-refresh-token-issued-here")
    with pytest.raises(doku_snap.InvalidArgumentError):
        client.get_token_b2b2c("")


def test_closed_client(va_client):
    client = va_client("py-va")
    client.close()
    for call in (lambda: client.request("POST", CREATE_VA, va_body()),
                 lambda: client.request_headers("POST", CREATE_VA, None),
                 lambda: client.get_token_b2b2c("code"), lambda: client.refresh_token_b2b2c("r")):
        with pytest.raises(doku_snap.ClientClosedError):
            call()
