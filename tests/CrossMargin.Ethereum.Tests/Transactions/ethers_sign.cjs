// Differential oracle: signs EIP-1559 transactions with ethers 6 and reports raw bytes and hashes.
// Usage: node ethers_sign.cjs <repoRoot>  (request JSON on stdin, response JSON on stdout)
'use strict';
const path = require('path');
const fs = require('fs');
const { Wallet, Transaction } = require(path.join(process.argv[2], 'devnet', 'node_modules', 'ethers'));

async function main() {
  const req = JSON.parse(fs.readFileSync(0, 'utf8'));
  const out = [];
  for (const t of req.txs) {
    const wallet = new Wallet(t.key);
    const fields = {
      type: 2,
      chainId: BigInt(t.chainId),
      nonce: Number(t.nonce),
      maxPriorityFeePerGas: BigInt(t.maxPriorityFeePerGas),
      maxFeePerGas: BigInt(t.maxFeePerGas),
      gasLimit: BigInt(t.gasLimit),
      to: t.to,
      value: BigInt(t.value),
      data: t.data,
      accessList: t.accessList,
    };
    const raw = await wallet.signTransaction(fields);
    const parsed = Transaction.from(raw);
    out.push({ raw, hash: parsed.hash, unsignedHash: parsed.unsignedHash, from: parsed.from.toLowerCase(), address: wallet.address.toLowerCase() });
  }
  process.stdout.write(JSON.stringify({ results: out }));
}

main().catch((e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1); });
