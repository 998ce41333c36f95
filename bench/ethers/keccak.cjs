// ethers 6 timings of the operations in bench/CrossMargin.Benchmarks/KeccakBenchmarks.cs.
// Usage: node bench/ethers/keccak.cjs [runs] [iterations]   -> JSON {ops: {name: {medianNsPerOp, runsNsPerOp}}}
'use strict';
const path = require('path');
const { ethers } = require(path.join(__dirname, '..', '..', 'devnet', 'node_modules', 'ethers'));

const runs = Number(process.argv[2] || 7);
const iterations = Number(process.argv[3] || 50000);

// deterministic pseudo-random inputs (the content does not change Keccak's cost)
function bytes(n, seed) {
  const out = new Uint8Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}
const input32 = bytes(32, 1);
const input1KiB = bytes(1024, 2);

let sink = 0;
const ops = {
  // ethers.keccak256 returns a hex string; that conversion is part of what a caller of ethers pays.
  Keccak32: () => { sink += ethers.keccak256(input32).length; },
  Keccak1KiB: () => { sink += ethers.keccak256(input1KiB).length; },
};

function time(fn, n) {
  for (let i = 0; i < Math.min(n, 5000); i++) fn();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn();
  return Number(process.hrtime.bigint() - t0) / n;
}

const result = { tool: 'ethers', version: ethers.version, node: process.version, runs, iterations, ops: {} };
for (const [name, fn] of Object.entries(ops)) {
  const n = name === 'Keccak1KiB' ? Math.max(1, Math.floor(iterations / 8)) : iterations;
  const samples = [];
  for (let r = 0; r < runs; r++) samples.push(time(fn, n));
  const sorted = [...samples].sort((a, b) => a - b);
  result.ops[name] = { medianNsPerOp: Math.round(sorted[Math.floor(sorted.length / 2)]), runsNsPerOp: samples.map(Math.round) };
}
if (sink < 0) console.error(sink);
process.stdout.write(JSON.stringify(result, null, 2) + '\n');
