#!/usr/bin/env python3
"""Known answers for SNAP's symmetric signature, computed without doku-snap.

Each case gives a body as a merchant might write it (pretty-printed, non-ASCII, "/" and spaces
inside strings, empty) and its minified form written out BY HAND here: the reference for
minify is this file, not the library. The digests and signatures come from Python's hashlib and
hmac. tests/kat.rs runs this script and compares the library's answers with its output.
"""
import base64
import hashlib
import hmac
import json

SECRET = "SK-dokuSnapKnownAnswerSecret-2026"
TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJjbGllbnRJZCI6Ik1DSC0wMDA4In0.c2lnbmF0dXJl"
TIMESTAMP = "2026-11-28T14:18:39+07:00"
PATH = "/virtual-accounts/bi-snap-va/v1.1/transfer-va/create-va"

CASES = [
    {
        "name": "pretty-printed create-va",
        "body": '{\n  "partnerServiceId": "  888994",\n  "customerNo": "00000000000000000001",\n'
                '  "virtualAccountNo": "  88899400000000000000000001",\n'
                '  "totalAmount": {\n    "value": "10000.00",\n    "currency": "IDR"\n  },\n'
                '  "trxId": "INV/2026/11/0001"\n}\n',
        "minified": '{"partnerServiceId":"  888994","customerNo":"00000000000000000001",'
                    '"virtualAccountNo":"  88899400000000000000000001",'
                    '"totalAmount":{"value":"10000.00","currency":"IDR"},"trxId":"INV/2026/11/0001"}',
    },
    {
        "name": "non-ASCII and escapes stay as written",
        "body": '{ "virtualAccountName" : "Siti Nurhaliza Śantoso 日本", "note": "a\\/b \\u00e9 \\"q\\"" ,\t"n": 1.50 }',
        "minified": '{"virtualAccountName":"Siti Nurhaliza Śantoso 日本","note":"a\\/b \\u00e9 \\"q\\"","n":1.50}',
    },
    {
        "name": "spaces inside strings",
        "body": '[ "two  spaces", " lead", "trail " , { "k" : " v " } ]',
        "minified": '["two  spaces"," lead","trail ",{"k":" v "}]',
    },
    {
        "name": "empty body",
        "body": "",
        "minified": "",
    },
]


def main() -> None:
    out = []
    for case in CASES:
        # The hand-written minified form must be the same JSON value as the body.
        if case["body"]:
            assert json.loads(case["body"]) == json.loads(case["minified"]), case["name"]
        digest = hashlib.sha256(case["minified"].encode("utf-8")).hexdigest()
        to_sign = f"POST:{PATH}:{TOKEN}:{digest}:{TIMESTAMP}"
        mac = hmac.new(SECRET.encode("utf-8"), to_sign.encode("utf-8"), hashlib.sha512).digest()
        out.append({**case, "digest": digest, "string_to_sign": to_sign,
                    "signature": base64.b64encode(mac).decode("ascii")})
    print(json.dumps({"secret": SECRET, "token": TOKEN, "timestamp": TIMESTAMP, "path": PATH,
                      "cases": out}, ensure_ascii=False))


if __name__ == "__main__":
    main()
