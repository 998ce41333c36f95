// ethers 6 baseline for bench/CrossMargin.Benchmarks/SigningBenchmarks.cs.
// Usage (from the repo root): node bench/ethers/sign.cjs [runs] [iterations]   (same order as keccak.cjs)
// Prints JSON: median wall-clock and CPU ns/op over several runs for EIP-1559 sign (hash + sign + serialize + tx hash),
// raw digest signing, and sender recovery from the raw transaction.
'use strict';
const path = require('path');
const ethers = require(path.join(__dirname, '..', '..', 'devnet', 'node_modules', 'ethers'));

// Anvil's well-known development account #0 (public test key).
const ANVIL_DEV_KEY_0 = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';
const runs = Number(process.argv[2] || 7);
const iterations = Number(process.argv[3] || 1000);

const signingKey = new ethers.SigningKey(ANVIL_DEV_KEY_0);
function makeTx(nonce) {
  return {
    type: 2,
    chainId: 31337n,
    nonce,
    maxPriorityFeePerGas: 1000000000n,
    maxFeePerGas: 30000000000n,
    gasLimit: 250000n,
    to: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
    value: 1000000000000000000n,
    data: '0xa9059cbb00000000000000000000000070997970c51812dc3a010c7d01b50e0d17dc79c800000000000000000000000000000000000000000000000000000000000f4240',
  };
}

// Same work as Wallet.signTransaction without its async address resolution. (The C# SignEip1559 does
// more: it also recovers the sender from the new signature and compares it with the key's address.)
function signEip1559(nonce) {
  const tx = ethers.Transaction.from(makeTx(nonce));
  tx.signature = signingKey.sign(tx.unsignedHash);
  return [tx.serialized, tx.hash];
}

const fixedTx = ethers.Transaction.from(makeTx(7));
const digest = fixedTx.unsignedHash;
fixedTx.signature = signingKey.sign(digest);
const raw = fixedTx.serialized;

let sink = 0;
const benches = {
  SignEip1559: (i) => { sink ^= signEip1559(i)[0].length; },
  SignDigest: () => { sink ^= signingKey.sign(digest).r.length; },
  Recover: () => { sink ^= ethers.recoverAddress(digest, fixedTx.signature).length; },
  DecodeAndRecover: () => { sink ^= ethers.Transaction.from(raw).from.length; },
};

function median(xs) { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; }

const result = { version: ethers.version, node: process.version, iterations, runs, medianNsPerOp: {}, medianCpuNsPerOp: {} };
for (const [name, fn] of Object.entries(benches)) {
  for (let i = 0; i < Math.min(iterations, 500); i++) fn(i); // warm-up
  const perRun = [];
  const cpuPerRun = [];
  for (let r = 0; r < runs; r++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) fn(i);
    perRun.push(Number(process.hrtime.bigint() - t0) / iterations);
    const c = process.cpuUsage(c0);
    cpuPerRun.push(((c.user + c.system) * 1000) / iterations);
  }
  result.medianNsPerOp[name] = Math.round(median(perRun));
  // CPU time (user + system) per op: less sensitive to other processes on a shared machine
  result.medianCpuNsPerOp[name] = Math.round(median(cpuPerRun));
}
result.sink = sink;
process.stdout.write(JSON.stringify(result, null, 2) + '\n');
