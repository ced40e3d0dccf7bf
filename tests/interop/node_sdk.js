// Drives DOKU's official Node SDK (doku-nodejs-library) against doku-sandbox, as its README uses
// it, changing only its base URL (Config.CORE_SANDBOX_BASE_URL: the SDK has no setting for it).
// Prints one JSON object of what it saw.
//
// argv: SANDBOX_URL CLIENT_ID PRIVATE_KEY_FILE WRONG_PRIVATE_KEY_FILE SECRET DOKU_PUBLIC_KEY_FILE
// (the sandbox's CA comes from NODE_EXTRA_CA_CERTS).
'use strict';
const fs = require('fs');
const [url, clientId, keyFile, wrongKeyFile, secret, dokuPublicFile] = process.argv.slice(2);
const Config = require('doku-nodejs-library/_commons/config');
Config.CORE_SANDBOX_BASE_URL = url;
const doku = require('doku-nodejs-library');
const CreateVARequestDto = require('doku-nodejs-library/_models/createVaRequestDto');
const VirtualAccountConfig = require('doku-nodejs-library/_models/virtualAccountConfig');
const TotalAmount = require('doku-nodejs-library/_models/totalAmount');
const AdditionalInfo = require('doku-nodejs-library/_models/additionalInfo');

const seen = { unhandled: [] };
// The constructor starts a token request it does not await: a refusal there is an unhandled
// rejection, which ends a Node process unless the application catches it process-wide.
process.on('unhandledRejection', (e) => seen.unhandled.push((e && e.response && e.response.data && e.response.data.responseCode) || String(e)));
const read = (f) => fs.readFileSync(f, 'utf8');
const snap = (key) => new doku.Snap({ isProduction: false, privateKey: read(key), clientID: clientId, publicKey: '',
  dokuPublicKey: read(dokuPublicFile), issuer: 'doku-snap-interop', secretKey: secret });

(async () => {
  const client = snap(keyFile);
  try {
    seen.token = (await client.getTokenB2B()).responseCode;
  } catch (e) {
    seen.token = e.response ? e.response.data.responseCode : String(e.message);
    await new Promise((r) => setTimeout(r, 300));
    console.log(JSON.stringify(seen));
    return;
  }
  const wrong = snap(wrongKeyFile);
  try {
    await wrong.getTokenB2B();
    seen.wrong_key_token = 'accepted';
  } catch (e) {
    seen.wrong_key_token = e.response && e.response.data && e.response.data.responseCode;
  }
  const va = new CreateVARequestDto('  888994', '00000000000000000001', '  88899400000000000000000001', 'Toko Interop',
    'interop@example.com', '081234567890', 'INV-INTEROP-NODE-1', new TotalAmount('11500.00', 'IDR'),
    new AdditionalInfo('VIRTUAL_ACCOUNT_BANK_CIMB', new VirtualAccountConfig(false)), 'C', '2030-12-31T23:59:59+07:00', []);
  try {
    const answer = await client.createVa(va);
    seen.create_va = [answer.responseCode, answer.responseMessage];
  } catch (e) {
    seen.create_va = e.response ? [e.response.data.responseCode, e.response.data.responseMessage] : ['error', String(e.message)];
  }
  await new Promise((r) => setTimeout(r, 300)); // the constructors' own requests settle
  console.log(JSON.stringify(seen));
})();
