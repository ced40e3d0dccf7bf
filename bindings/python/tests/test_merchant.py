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
def options(doku_keys, keys):
    """The token options as key text; each test overrides what it needs."""
    return {"client_id": ID, "doku_public_key": doku_keys.public.read_text(),
            "merchant_private_key": keys.pkcs8.read_text()}


@pytest.fixture
def issue(options):
    def call(headers, body=BODY, **overrides):
        return doku_snap.issue_token({**options, **overrides}, headers, body)
    return call


def raises(cls, status, message, call, *args, prefix=False, **kwargs):
    """call(*args, **kwargs) raises exactly cls with this status and message (or message
    prefix)."""
    with pytest.raises(doku_snap.DokuError) as info:
        call(*args, **kwargs)
    e = info.value
    assert type(e) is cls, repr(e)
    assert e.status == status and isinstance(e.status, doku_snap.Status), repr(e)
    assert (e.message.startswith(message) if prefix else e.message == message), repr(e)
    assert str(e) == e.message
    return e


def test_issue_then_validate(issue, token_request, keys):
    issued = issue(token_request())
    assert isinstance(issued, doku_snap.IssuedToken) and issued.http_status == 200
    status, body = issued  # a NamedTuple: unpacks
    answer = issued.json()
    assert answer["responseCode"] == "2007300" and answer["tokenType"] == "Bearer"
    assert answer["expiresIn"] == 900 and answer["accessToken"].startswith("eyJ")
    claims = doku_snap.validate_token("Bearer " + answer["accessToken"], keys.public.read_text())
    assert claims["clientId"] == ID and claims["exp"] - claims["iat"] == 900
    assert {"iss", "iat", "exp", "clientId", "jti"} <= set(claims)
    # without "Bearer " too, and with the public key as bare base64
    bare = "".join(line for line in keys.public.read_text().splitlines() if not line.startswith("-----"))
    assert doku_snap.validate_token(answer["accessToken"], bare) == claims


@pytest.mark.parametrize("form", [
    "text", "path files", "str files", "mixed", "bare base64 key", "pkcs1 key",
    "encrypted key text", "encrypted key file", "None is unset",
])
def test_issue_key_forms(token_request, keys, doku_keys, form):
    """The keys as text or as files (pathlib.Path or str), in every form the core reads."""
    options = {
        "text": {"doku_public_key": doku_keys.public.read_text(),
                 "merchant_private_key": keys.pkcs8.read_text()},
        "path files": {"doku_public_key_file": doku_keys.public,
                       "merchant_private_key_file": keys.pkcs8},
        "str files": {"doku_public_key_file": str(doku_keys.public),
                      "merchant_private_key_file": str(keys.pkcs8)},
        "mixed": {"doku_public_key_file": doku_keys.public,
                  "merchant_private_key": keys.pkcs8.read_text()},
        "bare base64 key": {"doku_public_key_file": doku_keys.public,
                            "merchant_private_key": keys.bare.read_text()},
        "pkcs1 key": {"doku_public_key_file": doku_keys.public,
                      "merchant_private_key_file": keys.pkcs1},
        "encrypted key text": {"doku_public_key_file": doku_keys.public,
                               "merchant_private_key": keys.encrypted.read_text(),
                               "merchant_private_key_passphrase": keys.PASSPHRASE},
        "encrypted key file": {"doku_public_key_file": doku_keys.public,
                               "merchant_private_key_file": keys.encrypted,
                               "merchant_private_key_passphrase": keys.PASSPHRASE},
        # None is JSON null: the same as leaving the key out
        "None is unset": {"doku_public_key": None, "doku_public_key_file": doku_keys.public,
                          "merchant_private_key_file": keys.pkcs8, "merchant_private_key": None,
                          "merchant_private_key_passphrase": None, "ttl_s": None, "max_skew_s": None},
    }[form]
    issued = doku_snap.issue_token({"client_id": ID, **options}, token_request(), BODY)
    assert issued.http_status == 200, issued
    claims = doku_snap.validate_token(issued.json()["accessToken"], keys.public.read_text())
    assert claims["clientId"] == ID and claims["exp"] - claims["iat"] == 900


@pytest.mark.parametrize("ttl_s", [1, 60, 3600, 86400])
def test_ttl_s_sets_the_lifetime(issue, token_request, keys, ttl_s):
    answer = issue(token_request(), ttl_s=ttl_s).json()
    assert answer["responseCode"] == "2007300" and answer["expiresIn"] == ttl_s
    claims = doku_snap.validate_token(answer["accessToken"], keys.public.read_text())
    assert claims["exp"] - claims["iat"] == ttl_s


def test_max_skew_s_bounds_the_timestamp(issue, token_request):
    # 10 minutes off: refused with the default 300 s and any bound below 600, accepted above
    old = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 600))
    for overrides, allowed in [({}, 300), ({"max_skew_s": 300}, 300), ({"max_skew_s": 590}, 590)]:
        issued = issue(token_request(ts=old), **overrides)
        assert issued.http_status == 401, issued
        assert issued.json()["responseCode"] == "4017300"
        assert f"(allowed: {allowed} s)" in issued.json()["responseMessage"], issued
    for max_skew_s in (3600, 86400):
        assert issue(token_request(ts=old), max_skew_s=max_skew_s).http_status == 200
    # and a tight bound still takes a fresh request
    assert issue(token_request(), max_skew_s=60).http_status == 200


def test_issue_header_and_body_forms(issue, token_request, keys):
    headers = token_request()
    # header names in any case; bytes bodies; http.server's Message headers
    issued = issue({k.lower(): v for k, v in headers.items()}, BODY.encode())
    assert issued.http_status == 200
    message = Message()
    for k, v in headers.items():
        message[k] = v
    assert issue(message).http_status == 200
    assert issue(headers, bytearray(BODY.encode())).http_status == 200


def test_the_same_options_object_serves_every_request(options, token_request):
    # the options are read on each call and not kept: mutating the mapping afterwards is fine
    first = doku_snap.issue_token(options, token_request(), BODY)
    options["ttl_s"] = 120
    second = doku_snap.issue_token(options, token_request(), BODY)
    assert (first.json()["expiresIn"], second.json()["expiresIn"]) == (900, 120)


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


INVALID = doku_snap.InvalidArgumentError
KEY = doku_snap.InvalidKeyError
KNOWN = ("(known keys: client_id, doku_public_key, doku_public_key_file, merchant_private_key, "
         "merchant_private_key_file, merchant_private_key_passphrase, ttl_s, max_skew_s)")


@pytest.mark.parametrize("overrides, message", [
    # the old keyword names are unknown keys now
    ({"ttl": 60}, 'options: unknown key "ttl" ' + KNOWN),
    ({"max_skew": 3600}, 'options: unknown key "max_skew" ' + KNOWN),
    ({"private_key_file": "/x"}, 'options: unknown key "private_key_file" ' + KNOWN),
    ({"ttl": None}, 'options: unknown key "ttl" ' + KNOWN),  # None does not hide a typo
    ({"ttl_s": "900"}, "options: ttl_s must be a number"),
    ({"ttl_s": True}, "options: ttl_s must be a number"),
    ({"ttl_s": [900]}, "options: ttl_s must be a number"),
    ({"ttl_s": 0}, "options: ttl_s must be an integer ≥ 1"),
    ({"ttl_s": -1}, "options: ttl_s must be an integer ≥ 1"),
    ({"ttl_s": 1.5}, "options: ttl_s must be an integer ≥ 1"),
    ({"ttl_s": 86401}, "options: ttl_s must be at most 86400"),
    ({"ttl_s": 2**32}, "options: ttl_s must be at most 86400"),
    ({"max_skew_s": 0}, "options: max_skew_s must be an integer ≥ 1"),
    ({"max_skew_s": 86401}, "options: max_skew_s must be at most 86400"),
    ({"max_skew_s": "300"}, "options: max_skew_s must be a number"),
    ({"client_id": None}, "options: client_id is required"),
    ({"client_id": ""}, "options: client_id is empty"),
    ({"client_id": 7}, "options: client_id must be a string"),
    ({"doku_public_key": None}, "options: doku_public_key or doku_public_key_file is required"),
    ({"merchant_private_key": None},
     "options: merchant_private_key or merchant_private_key_file is required"),
    ({"doku_public_key_file": "/x"}, "options: set doku_public_key or doku_public_key_file, not both"),
    ({"merchant_private_key_file": "/x"},
     "options: set merchant_private_key or merchant_private_key_file, not both"),
    ({"merchant_private_key_passphrase": 12345678},
     "options: merchant_private_key_passphrase must be a string"),
])
def test_bad_options_raise(issue, token_request, overrides, message):
    raises(INVALID, doku_snap.Status.INVALID_ARGUMENT, message, issue, token_request(), BODY,
           **overrides)


def test_options_missing_keys(token_request):
    raises(INVALID, doku_snap.Status.INVALID_ARGUMENT, "options: client_id is required",
           doku_snap.issue_token, {}, token_request(), BODY)


@pytest.mark.parametrize("options, message", [
    (None, "options must be a mapping of option names to values, not NoneType"),
    ([("client_id", ID)], "options must be a mapping of option names to values, not list"),
    ('{"client_id": "MCH"}', "options must be a mapping of option names to values, not str"),
    (b'{"client_id": "MCH"}', "options must be a mapping of option names to values, not bytes"),
    ({1: "x"}, "options: keys must be str, not int"),
    ({"client_id": b"MCH"}, "options: client_id cannot be encoded as JSON (bytes)"),
    ({"client_id": {1, 2}}, "options: client_id cannot be encoded as JSON (set)"),
    ({"ttl_s": float("nan")}, "options: ttl_s is not a finite number"),
    ({"max_skew_s": float("inf")}, "options: max_skew_s is not a finite number"),
    ({"client_id": "MCH\udc80"}, "options: client_id is not valid Unicode (a lone surrogate)"),
    ({"client_id\udc80": "MCH"}, "options: a key is not valid Unicode (a lone surrogate)"),
])
def test_options_that_cannot_be_json(token_request, options, message):
    raises(INVALID, doku_snap.Status.INVALID_ARGUMENT, message,
           doku_snap.issue_token, options, token_request(), BODY)


def test_unreadable_key_files(issue, token_request, tmp_path):
    missing = tmp_path / "missing.pem"
    raises(KEY, doku_snap.Status.KEY, f'options: doku_public_key_file "{missing}" cannot be read: ',
           issue, token_request(), BODY, doku_public_key=None, doku_public_key_file=missing,
           prefix=True)
    raises(KEY, doku_snap.Status.KEY,
           f'options: merchant_private_key_file "{tmp_path}" cannot be read: not a regular file',
           issue, token_request(), BODY, merchant_private_key=None,
           merchant_private_key_file=tmp_path)


def test_bad_headers_and_body_raise(issue, token_request):
    raises(INVALID, doku_snap.Status.INVALID_ARGUMENT,
           "headers_json must be a JSON object of header names to string values",
           issue, {"X-CLIENT-KEY": 1})  # values must be strings
    raises(INVALID, doku_snap.Status.INVALID_ARGUMENT, "headers must be a mapping of str to str: ",
           issue, ["not", "a", "mapping"], prefix=True)
    raises(INVALID, doku_snap.Status.INVALID_ARGUMENT, "body is not valid UTF-8",
           issue, token_request(), b"\xff")
    raises(INVALID, doku_snap.Status.INVALID_ARGUMENT, "body contains a NUL character",
           issue, token_request(), BODY + "\0")


@pytest.mark.parametrize("option, value, message", [
    # the core names the option: with two keys, which one is wrong matters
    ("doku_public_key", "not a key",
     "the public key is neither PEM (-----BEGIN ...) nor base64 of a DER key"),
    ("merchant_private_key", "not a key",
     "the private key is neither PEM (-----BEGIN ...) nor base64 of a DER key"),
    ("doku_public_key_file", "ec",
     "expected a public key but got a private key (BEGIN PRIVATE KEY)"),
    ("merchant_private_key_file", "ec", "not an RSA private key (EC); DOKU needs RSA"),
    ("merchant_private_key_file", "rsa1024",
     "RSA key of 1024 bits is too short: DOKU requires at least 2048"),
])
def test_unusable_keys_raise(issue, token_request, keys, option, value, message):
    if option.endswith("_file"):  # a conftest.Keys file, as a pathlib.Path
        overrides = {option: getattr(keys, value), option[: -len("_file")]: None}
    else:
        overrides = {option: value}
    raises(KEY, doku_snap.Status.KEY, f"options: {option}: {message}", issue, token_request(),
           BODY, **overrides)


def test_no_message_quotes_a_key_or_passphrase(token_request, keys, doku_keys, tmp_path):
    """Every failure with secrets in the options: neither the passphrase nor any line of the
    keys' text shows up in the message (nor in repr, which tracebacks and loggers print)."""
    secret = "hunter2-" + "p4ss" * 4
    private = keys.pkcs8.read_text()
    encrypted = keys.encrypted.read_text()
    public = doku_keys.public.read_text()
    good = {"client_id": ID, "doku_public_key": public, "merchant_private_key": private}
    cases = [
        (KEY, doku_snap.Status.KEY,
         "options: merchant_private_key: cannot decrypt the private key: wrong passphrase or corrupt key",
         {**good, "merchant_private_key": encrypted, "merchant_private_key_passphrase": secret}),
        (KEY, doku_snap.Status.KEY,
         "options: merchant_private_key_file: cannot decrypt the private key: wrong passphrase or corrupt key",
         {**good, "merchant_private_key_file": keys.encrypted, "merchant_private_key": None,
          "merchant_private_key_passphrase": keys.PASSPHRASE + "x"}),
        (KEY, doku_snap.Status.KEY,
         "options: merchant_private_key: the private key is encrypted (ENCRYPTED PRIVATE KEY) and no "
         "passphrase was given",
         {**good, "merchant_private_key": encrypted}),
        (KEY, doku_snap.Status.KEY,
         "options: merchant_private_key: the private key is neither PEM (-----BEGIN ...) nor base64 of "
         "a DER key",
         {**good, "merchant_private_key": secret}),  # a passphrase pasted as the key
        (KEY, doku_snap.Status.KEY,
         'options: merchant_private_key: malformed PEM: missing "-----END PRIVATE KEY-----" '
         "(truncated key?)",
         {**good, "merchant_private_key": private[: len(private) // 2]}),
        (KEY, doku_snap.Status.KEY, "options: doku_public_key: malformed public key: ",
         {**good, "doku_public_key": private.replace("PRIVATE", "PUBLIC")}),
        (KEY, doku_snap.Status.KEY,
         "options: doku_public_key: expected a public key but got a private key (BEGIN PRIVATE KEY)",
         {**good, "doku_public_key": private}),  # the two keys swapped
        (KEY, doku_snap.Status.KEY,
         "options: merchant_private_key: expected a private key but got a public key (BEGIN PUBLIC KEY)",
         {**good, "merchant_private_key": public}),
        (INVALID, doku_snap.Status.INVALID_ARGUMENT, "options: merchant_private_key must be a string",
         {**good, "merchant_private_key": [private]}),
        (INVALID, doku_snap.Status.INVALID_ARGUMENT,
         "options: merchant_private_key_passphrase must be a string",
         {**good, "merchant_private_key_passphrase": [secret]}),
        (INVALID, doku_snap.Status.INVALID_ARGUMENT,
         "options: merchant_private_key_passphrase cannot be encoded as JSON (bytes)",
         {**good, "merchant_private_key_passphrase": secret.encode()}),
        (INVALID, doku_snap.Status.INVALID_ARGUMENT,
         "options: merchant_private_key cannot be encoded as JSON (bytes)",
         {**good, "merchant_private_key": private.encode()}),
        (INVALID, doku_snap.Status.INVALID_ARGUMENT,
         "options: merchant_private_key is not valid Unicode (a lone surrogate)",
         {**good, "merchant_private_key": private + "\udc80"}),
        (INVALID, doku_snap.Status.INVALID_ARGUMENT, 'options: unknown key "passphrase" ' + KNOWN,
         {**good, "passphrase": secret}),
        (INVALID, doku_snap.Status.INVALID_ARGUMENT,
         "options: set merchant_private_key or merchant_private_key_file, not both",
         {**good, "merchant_private_key_file": keys.pkcs8}),
    ]
    lines = [line for text in (private, encrypted, public) for line in text.splitlines()
             if not line.startswith("-----")]
    needles = [secret, secret.encode().hex(), keys.PASSPHRASE, *lines]
    for cls, status, message, options in cases:
        e = raises(cls, status, message, doku_snap.issue_token, options, token_request(), BODY,
                   prefix=message.endswith(": "))
        for shown in (str(e), repr(e), str(e.args)):
            leaked = [n[:12] + "..." for n in needles if n in shown]
            assert not leaked, f"{message}: the message shows secret text {leaked}"


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
