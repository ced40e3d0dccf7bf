// A merchant built on DOKU's official Node SDK's merchant-side helpers, in Express as its README
// shows them, for doku-sandbox --notify to call. Prints "listening on URL" once it serves, and
// on stderr one JSON line per notification with what the SDK's own signature check said.
//
// argv: PORT CLIENT_ID MERCHANT_PRIVATE_KEY_FILE MERCHANT_PUBLIC_KEY_FILE DOKU_PUBLIC_KEY_FILE SECRET SANDBOX_URL
// (the constructor fetches a token from the sandbox, whose CA comes from NODE_EXTRA_CA_CERTS).
'use strict';
const fs = require('fs');
const express = require('express');
const [port, clientId, keyFile, publicFile, dokuPublicFile, secret, url] = process.argv.slice(2);
const Config = require('doku-nodejs-library/_commons/config');
Config.CORE_SANDBOX_BASE_URL = url;
const doku = require('doku-nodejs-library');
const TokenService = require('doku-nodejs-library/_services/tokenService');

const read = (f) => fs.readFileSync(f, 'utf8');
// publicKey is ours (it checks the token DOKU presents), dokuPublicKey DOKU's.
const snap = new doku.Snap({ isProduction: false, privateKey: read(keyFile), clientID: clientId, publicKey: read(publicFile),
  dokuPublicKey: read(dokuPublicFile), issuer: 'doku-snap-interop', secretKey: secret });
const app = express();
app.use(express.json());

app.post('/authorization/v1/access-token/b2b', (req, res) => {
  const token = snap.validateSignatureAndGenerateToken(req);
  res.status(token.body.responseCode === '2007300' ? 200 : 401).json(token.body);
});

app.post('/v1.1/transfer-va/payment', (req, res) => {
  // The SDK's X-SIGNATURE check on DOKU's genuine notification, and the same formula (the SDK's
  // own function) with the token DOKU presented.
  const presented = (req.get('Authorization') || '').replace('Bearer ', '');
  const expected = TokenService.generateSymmetricSignature('POST', req.route.path, presented, req.body, req.get('X-TIMESTAMP'), secret);
  process.stderr.write(JSON.stringify({ validateSymmetricSignature: snap.validateSymmetricSignature(req),
    withPresentedToken: expected === req.get('X-SIGNATURE') }) + '\n');
  res.json(snap.validateTokenAndGenerateNotificationResponse(req.get('Authorization'), req.body));
});

app.listen(Number(port), '127.0.0.1', () => console.log(`listening on http://127.0.0.1:${port}`));
