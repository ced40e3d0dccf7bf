"""issue_token and validate_token: the merchant answering DOKU's token request, and checking the
token DOKU then presents. DOKU's side is played with doku_snap.sign and DOKU's key pair; tokens
for the negative cases are made by hand with the openssl CLI."""

import base64
import json
import time
from email.message import Message

import pytest

import doku_snap
from conftest import openssl

ID = "MCH-merchant-1"
BODY = '{"grantType":"client_credentials"}'


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_jwt(header: dict, claims: dict, key_path=None, signature: bytes = b"") -> str:
    """A JWT signed by the openssl CLI (RS256) when key_path is given, else with `signature`."""
    signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    if key_path is not None:
        signature = openssl("dgst", "-sha256", "-sign", str(key_path), stdin=signing_input.encode())
    return signing_input + "." + b64url(signature)


@pytest.fixture
def token_request(doku_keys):
    """The headers DOKU sends with its token request, signed with DOKU's private key."""
    def make(client_id=ID, ts=None, key_path=None):
        ts = ts or doku_snap.timestamp()
        sig = doku_snap.sign(client_id, ts, (key_path or doku_keys.private).read_text())
        return {"X-CLIENT-KEY": client_id, "X-TIMESTAMP": ts, "X-SIGNATURE": sig, "Content-Type": "application/json"}
    return make


@pytest.fixture
def issue(doku_keys, keys):
    def call(headers, body=BODY, **kw):
        return doku_snap.issue_token(headers, body, doku_keys.public.read_text(), keys.pkcs8.read_text(), ID, **kw)
    return call


def test_issue_then_validate(issue, token_request, keys):
    issued = issue(token_request())
    assert isinstance(issued, doku_snap.IssuedToken) and issued.http_status == 200
    status, body = issued  # a NamedTuple: unpacks
    answer = issued.json()
    assert answer["responseCode"] == "2007300" and answer["tokenType"] == "Bearer"
    assert int(answer["expiresIn"]) == 900 and answer["accessToken"].startswith("eyJ")
    claims = doku_snap.validate_token("Bearer " + answer["accessToken"], keys.public.read_text())
    assert claims["clientId"] == ID and claims["exp"] - claims["iat"] == 900
    assert {"iss", "iat", "exp", "clientId", "jti"} <= set(claims)
    # without "Bearer " too, and with the public key as bare base64
    bare = "".join(line for line in keys.public.read_text().splitlines() if not line.startswith("-----"))
    assert doku_snap.validate_token(answer["accessToken"], bare) == claims


def test_issue_options_and_header_forms(issue, token_request, keys):
    headers = token_request()
    # ttl; header names in any case; bytes bodies; http.server's Message headers
    issued = issue({k.lower(): v for k, v in headers.items()}, BODY.encode(), ttl=60)
    claims = doku_snap.validate_token(issued.json()["accessToken"], keys.public.read_text())
    assert issued.http_status == 200 and claims["exp"] - claims["iat"] == 60
    message = Message()
    for k, v in headers.items():
        message[k] = v
    assert issue(message).http_status == 200
    # clock skew: 10 minutes off is refused by default, accepted with max_skew=3600
    old = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 600))
    assert issue(token_request(ts=old)).http_status == 401
    assert issue(token_request(ts=old), max_skew=3600).http_status == 200


@pytest.mark.parametrize("case, status, code, fragment", [
    ("no signature", 400, "4007302", "X-SIGNATURE"),
    ("bad timestamp", 400, "4007301", "X-TIMESTAMP"),
    ("bad body", 400, "4007300", "grantType"),
    ("no body", 400, "4007300", "empty"),
    ("other client", 401, "4017300", "Unknown Client"),
    ("other key", 401, "4017300", "Invalid Signature"),
])
def test_issue_refusals(issue, token_request, keys, case, status, code, fragment):
    headers, body = token_request(), BODY
    if case == "no signature":
        del headers["X-SIGNATURE"]
    elif case == "bad timestamp":
        headers["X-TIMESTAMP"] = "yesterday"
    elif case == "bad body":
        body = '{"grantType":"password"}'
    elif case == "no body":
        body = None
    elif case == "other client":
        headers = token_request(client_id="MCH-someone-else")
    elif case == "other key":
        headers = token_request(key_path=keys.pkcs8)  # not DOKU's key
    issued = issue(headers, body)
    assert issued.http_status == status
    assert issued.json()["responseCode"] == code
    assert fragment in issued.json()["responseMessage"]
    assert "accessToken" not in issued.json()


def test_issue_bad_input_raises(issue, token_request, doku_keys):
    with pytest.raises(doku_snap.InvalidArgumentError):
        issue({"X-CLIENT-KEY": 1})  # values must be strings
    with pytest.raises(doku_snap.InvalidArgumentError):
        issue(["not", "a", "mapping"])
    for bad in (-1, 2**32, "900", 1.5, True):
        with pytest.raises(doku_snap.InvalidArgumentError, match="ttl"):
            issue(token_request(), ttl=bad)
    with pytest.raises(doku_snap.InvalidArgumentError, match="max_skew"):
        issue(token_request(), max_skew=-5)
    with pytest.raises(doku_snap.InvalidKeyError):
        doku_snap.issue_token(token_request(), BODY, "not a key", "not a key", ID)
    with pytest.raises(doku_snap.InvalidKeyError):
        doku_snap.issue_token(token_request(), BODY, doku_keys.public.read_text(), "not a key", ID)


def test_validate_an_openssl_made_token(keys):
    now = int(time.time())
    claims = {"iss": "merchant", "iat": now, "exp": now + 300, "clientId": ID, "jti": "j-1"}
    token = make_jwt({"alg": "RS256", "typ": "JWT"}, claims, keys.pkcs8)
    assert doku_snap.validate_token(token, keys.public.read_text()) == claims


@pytest.mark.parametrize("case", ["expired", "other key", "alg none", "alg HS256", "tampered"])
def test_validate_refuses(keys, doku_keys, case):
    now = int(time.time())
    claims = {"iss": "merchant", "iat": now - 60, "exp": now + 300, "clientId": ID, "jti": "j-1"}
    header = {"alg": "RS256", "typ": "JWT"}
    if case == "expired":
        token = make_jwt(header, {**claims, "iat": now - 1000, "exp": now - 100}, keys.pkcs8)
    elif case == "other key":
        token = make_jwt(header, claims, doku_keys.private)
    elif case == "alg none":
        token = make_jwt({"alg": "none", "typ": "JWT"}, claims)
    elif case == "alg HS256":  # the public key used as an HMAC secret: the classic confusion
        import hashlib
        import hmac
        signing_input = make_jwt({"alg": "HS256", "typ": "JWT"}, claims).rsplit(".", 1)[0]
        mac = hmac.new(keys.public.read_bytes(), signing_input.encode(), hashlib.sha256).digest()
        token = signing_input + "." + b64url(mac)
    else:
        good = make_jwt(header, claims, keys.pkcs8)
        head, _, sig = good.split(".")
        token = head + "." + b64url(json.dumps({**claims, "clientId": "MCH-evil"}).encode()) + "." + sig
    with pytest.raises(doku_snap.SignatureInvalidError):
        doku_snap.validate_token("Bearer " + token, keys.public.read_text())


def test_validate_bad_input(keys):
    with pytest.raises(doku_snap.InvalidArgumentError):
        doku_snap.validate_token("not a jwt", keys.public.read_text())
    with pytest.raises(doku_snap.InvalidKeyError):
        doku_snap.validate_token(make_jwt({"alg": "RS256"}, {"exp": 1}, keys.pkcs8), "not a key")
