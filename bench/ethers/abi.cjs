// ethers 6 timings of the operations in bench/CrossMargin.Benchmarks/AbiBenchmarks.cs.
// Usage: node bench/ethers/abi.cjs [runs] [iterations]   -> JSON {op: {medianNsPerOp, runsNsPerOp}}
'use strict';
const path = require('path');
const fs = require('fs');

function findRepoRoot(dir) {
  for (;;) {
    if (fs.existsSync(path.join(dir, 'CrossMargin.sln'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error('repository root not found');
    dir = up;
  }
}
const { ethers } = require(path.join(findRepoRoot(__dirname), 'devnet', 'node_modules', 'ethers'));

const runs = Number(process.argv[2] || 7);
const iterations = Number(process.argv[3] || 20000);

const iface = new ethers.Interface(['function liquidate(address,uint256,int256,bytes32,bool)']);
const coder = ethers.AbiCoder.defaultAbiCoder();
const rowsType = ['tuple(address,uint256,uint256)[]'];

const account = '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed';
const size = 123456789012345678901234567890n;
const pnl = -987654321098765432109876543210n;
const market = '0x4554482d5045525000000000000000000000000000000000000000000000abcd';
const callArgs = [account, size, pnl, market, true];
const rows = [];
for (let i = 0; i < 10; i++) {
  const a = new Uint8Array(20);
  a[0] = i + 1;
  a[19] = 0xa0 + i;
  rows.push([ethers.getAddress(ethers.hexlify(a)), 1000000000000000000n * BigInt(i + 1), BigInt(i * 7919)]);
}
const calldata = iface.encodeFunctionData('liquidate', callArgs);
const rowsEncoded = coder.encode(rowsType, [rows]);

let sink = 0;
const ops = {
  EncodeCall: () => { sink += iface.encodeFunctionData('liquidate', callArgs).length; },
  DecodeCall: () => { sink += iface.decodeFunctionData('liquidate', calldata).length; },
  EncodeRows: () => { sink += coder.encode(rowsType, [rows]).length; },
  DecodeRows: () => { sink += coder.decode(rowsType, rowsEncoded)[0].length; },
};

function time(fn) {
  for (let i = 0; i < Math.min(iterations, 5000); i++) fn(); // warm-up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) fn();
  return Number(process.hrtime.bigint() - t0) / iterations;
}

const result = { tool: 'ethers', version: ethers.version, node: process.version, runs, iterations, ops: {} };
for (const [name, fn] of Object.entries(ops)) {
  const samples = [];
  for (let r = 0; r < runs; r++) samples.push(time(fn));
  const sorted = [...samples].sort((a, b) => a - b);
  result.ops[name] = { medianNsPerOp: Math.round(sorted[Math.floor(sorted.length / 2)]), runsNsPerOp: samples.map(Math.round) };
}
if (sink < 0) console.error(sink);
process.stdout.write(JSON.stringify(result, null, 2) + '\n');
