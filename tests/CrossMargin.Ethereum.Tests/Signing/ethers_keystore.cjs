// Keystore interop oracle for ethers 6.
// Usage: node ethers_keystore.cjs <repoRoot>  (request JSON on stdin, response JSON on stdout)
// ops: encrypt {key, password, n}           -> {json}      ethers writes a scrypt keystore
//      decrypt {json, password}             -> {key, address} or {error}
//      pbkdf2  {key, password, c}           -> {json}      hand-built pbkdf2 keystore (node crypto + ethers keccak)
'use strict';
const path = require('path');
const fs = require('fs');
const crypto = require('crypto');
const ethers = require(path.join(process.argv[2], 'devnet', 'node_modules', 'ethers'));

function handPbkdf2(req) {
  const salt = crypto.randomBytes(32);
  const iv = crypto.randomBytes(16);
  const derived = crypto.pbkdf2Sync(Buffer.from(req.password.normalize('NFKC'), 'utf8'), salt, req.c, 32, 'sha256');
  const cipher = crypto.createCipheriv('aes-128-ctr', derived.subarray(0, 16), iv);
  const ciphertext = Buffer.concat([cipher.update(Buffer.from(req.key.slice(2), 'hex')), cipher.final()]);
  const mac = ethers.keccak256(Buffer.concat([derived.subarray(16, 32), ciphertext])).slice(2);
  const address = new ethers.Wallet(req.key).address.toLowerCase().slice(2);
  return {
    json: JSON.stringify({
      address, id: crypto.randomUUID(), version: 3,
      crypto: {
        cipher: 'aes-128-ctr', cipherparams: { iv: iv.toString('hex') }, ciphertext: ciphertext.toString('hex'),
        kdf: 'pbkdf2', kdfparams: { c: req.c, dklen: 32, prf: 'hmac-sha256', salt: salt.toString('hex') }, mac,
      },
    }),
  };
}

function handle(req) {
  switch (req.op) {
    case 'encrypt': {
      const account = { address: new ethers.Wallet(req.key).address, privateKey: req.key };
      return { json: ethers.encryptKeystoreJsonSync(account, req.password, { scrypt: { N: req.n } }) };
    }
    case 'decrypt':
      try {
        const acct = ethers.decryptKeystoreJsonSync(req.json, req.password);
        return { key: acct.privateKey, address: acct.address.toLowerCase() };
      } catch (e) {
        return { error: String(e && e.message || e) };
      }
    case 'pbkdf2':
      return handPbkdf2(req);
    default:
      throw new Error('unknown op ' + req.op);
  }
}

const reqs = JSON.parse(fs.readFileSync(0, 'utf8'));
process.stdout.write(JSON.stringify(reqs.map(handle)));
