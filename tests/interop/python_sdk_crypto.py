"""DOKU's official Python SDK's own signing and verifying functions, on inputs given as JSON on
stdin; prints their results as JSON. Run with the SDK's interpreter (see test_interop.py).

stdin: {"private_key", "public_key", "client_id", "timestamp", "doku_signature", "secret",
        "method", "path", "token", "bodies": [JSON text, ...], "doku_jwt"}"""

import json
import sys

from doku_python_library.src.services.token_service import TokenService

given = json.load(sys.stdin)
string_to_sign = given["client_id"] + "|" + given["timestamp"]
print(json.dumps({
    # X-SIGNATURE of a token request, as the SDK signs it.
    "signature": TokenService.create_signature(given["private_key"], string_to_sign),
    # The SDK's verifier on doku-snap's signature.
    "accepts_doku_signature": TokenService.compare_signatures(string_to_sign, given["doku_signature"], given["public_key"]),
    # X-SIGNATURE of a transaction request: the SDK signs the request as a dict, minified by
    # json.dumps (non-ASCII as \\u escapes: the bytes requests sends).
    # The merchant side: the SDK's validation of a token doku_issue_token issued, and a token
    # the SDK issues (its generate_token), for doku_validate_token.
    "validates_doku_jwt": TokenService.validate_token_b2b(given["doku_jwt"], given["public_key"]),
    # The Authorization header's value as received, "Bearer <jwt>".
    "validates_bearer_header": TokenService.validate_token_b2b("Bearer " + given["doku_jwt"], given["public_key"]),
    "jwt": TokenService.generate_token(900, "doku-snap-interop", given["private_key"], given["client_id"]),
    "symmetric": [TokenService.generate_symmetric_signature(given["method"], given["path"], given["token"], json.loads(body),
                                                            given["timestamp"], given["secret"]) for body in given["bodies"]],
}))
