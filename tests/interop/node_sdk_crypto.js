// DOKU's official Node SDK's own signing and verifying functions, on inputs given as JSON on
// stdin; prints their results as JSON (see test_interop.py).
//
// stdin: {"private_key", "public_key", "client_id", "timestamp", "doku_signature", "secret",
//         "method", "path", "token", "bodies": [JSON text, ...], "doku_jwt"}
'use strict';
const TokenService = require('doku-nodejs-library/_services/tokenService');
const TokenController = require('doku-nodejs-library/_controllers/tokenController');

const given = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const claims = (jwt) => {
  const c = new TokenController().validateTokenB2B(jwt, given.public_key);
  return c ? { clientId: c.clientId } : null;
};
console.log(JSON.stringify({
  // X-SIGNATURE of a token request, as the SDK signs it, and its verifier on doku-snap's.
  signature: TokenService.generateSignature(given.private_key, given.client_id, given.timestamp),
  accepts_doku_signature: TokenService.compareSignatures(given.doku_signature, given.public_key, given.client_id, given.timestamp),
  // The merchant side: doku_issue_token's JWT, bare and as the Authorization header carries it.
  validates_doku_jwt: claims(given.doku_jwt),
  validates_bearer_header: claims('Bearer ' + given.doku_jwt),
  jwt: TokenService.generateToken(900, 'doku-snap-interop', given.private_key, given.client_id),
  // X-SIGNATURE of a transaction request: the SDK hashes JSON.stringify of the parsed body
  // (non-ASCII and '/' as they are).
  symmetric: given.bodies.map((body) => TokenService.generateSymmetricSignature(given.method, given.path, given.token,
    JSON.parse(body), given.timestamp, given.secret)),
}));
