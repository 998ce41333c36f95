#!/usr/bin/env node
// Runs the Ethereum-layer BenchmarkDotNet suites and the same operations in ethers 6 under node, in one
// run, and prints both medians and the throughput ratio (ethers ns/op divided by ours).
//
//   node bench/compare-ethers.cjs            # BenchmarkDotNet short job + ethers, 7 runs each
//   node bench/compare-ethers.cjs --quick    # fewer iterations, for a smoke check
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const repo = path.resolve(__dirname, '..');
const quick = process.argv.includes('--quick');

// C# benchmark (class.method) -> [ethers script, ethers op, goal ratio]
const pairs = [
  ['KeccakBenchmarks.Keccak32', 'keccak.cjs', 'Keccak32', 10],
  ['KeccakBenchmarks.Keccak1KiB', 'keccak.cjs', 'Keccak1KiB', 10],
  ['AbiBenchmarks.EncodeCallFast', 'abi.cjs', 'EncodeCall', 20],
  ['AbiBenchmarks.DecodeCallFast', 'abi.cjs', 'DecodeCall', 20],
  ['AbiBenchmarks.EncodeRowsFast', 'abi.cjs', 'EncodeRows', 20],
  ['AbiBenchmarks.DecodeRowsFast', 'abi.cjs', 'DecodeRows', 20],
  ['AbiBenchmarks.EncodeCallGeneric', 'abi.cjs', 'EncodeCall', null],
  ['AbiBenchmarks.DecodeCallGeneric', 'abi.cjs', 'DecodeCall', null],
  ['AbiBenchmarks.EncodeRowsGeneric', 'abi.cjs', 'EncodeRows', null],
  ['AbiBenchmarks.DecodeRowsGeneric', 'abi.cjs', 'DecodeRows', null],
  ['SigningBenchmarks.SignEip1559', 'sign.cjs', 'SignEip1559', 2],
  ['SigningBenchmarks.Recover', 'sign.cjs', 'Recover', null],
];

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: repo, encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) {
    process.stderr.write(r.stdout + r.stderr);
    throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status}`);
  }
  return r.stdout;
}

// 1. BenchmarkDotNet, JSON exporter
const artifacts = path.join(repo, 'BenchmarkDotNet.Artifacts');
fs.rmSync(path.join(artifacts, 'results'), { recursive: true, force: true });
const filters = ['*KeccakBenchmarks*', '*AbiBenchmarks*', '*SigningBenchmarks*'];
const bdnArgs = ['run', '-c', 'Release', '--project', 'bench/CrossMargin.Benchmarks', '--', '--filter', ...filters,
  '--exporters', 'json', '--artifacts', artifacts, '--job', quick ? 'dry' : 'short'];
process.stderr.write(`running: dotnet ${bdnArgs.join(' ')}\n`);
run('dotnet', bdnArgs);
const ours = {};
for (const f of fs.readdirSync(path.join(artifacts, 'results')).filter((n) => n.endsWith('-report-full-compressed.json'))) {
  const report = JSON.parse(fs.readFileSync(path.join(artifacts, 'results', f), 'utf8'));
  for (const b of report.Benchmarks) ours[`${b.Type}.${b.Method}`] = { median: b.Statistics.Median, allocated: b.Memory ? b.Memory.BytesAllocatedPerOperation : null };
}

// 2. ethers 6, same operations
const ethers = {};
for (const script of [...new Set(pairs.map((p) => p[1]))]) {
  const out = JSON.parse(run('node', [path.join('bench', 'ethers', script), quick ? '3' : '7']));
  const medians = out.ops ? Object.fromEntries(Object.entries(out.ops).map(([k, v]) => [k, v.medianNsPerOp])) : out.medianNsPerOp;
  ethers[script] = { medians, version: out.version || out.ethers, node: out.node };
}

// 3. table
const fmt = (ns) => (ns >= 1e6 ? `${(ns / 1e6).toFixed(2)} ms` : ns >= 1e3 ? `${(ns / 1e3).toFixed(2)} us` : `${ns.toFixed(1)} ns`);
const rows = [['operation', 'CrossMargin', 'alloc B/op', 'ethers 6', 'ratio', 'goal']];
let missed = 0;
for (const [bench, script, op, goal] of pairs) {
  const o = ours[bench];
  const e = ethers[script] && ethers[script].medians[op];
  if (!o || e === undefined) {
    rows.push([bench, o ? fmt(o.median) : 'missing', '', e === undefined ? 'missing' : fmt(e), '', '']);
    continue;
  }
  const ratio = e / o.median;
  if (goal && ratio < goal) missed++;
  rows.push([bench, fmt(o.median), String(o.allocated ?? ''), fmt(e), `${ratio.toFixed(1)}x`, goal ? `>= ${goal}x${ratio >= goal ? '' : ' (missed)'}` : '']);
}
const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
const line = (r) => '| ' + r.map((c, i) => c.padEnd(widths[i])).join(' | ') + ' |';
console.log(line(rows[0]));
console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
for (const r of rows.slice(1)) console.log(line(r));
const any = Object.values(ethers)[0];
console.log(`\nethers ${any.version} on node ${any.node}; BenchmarkDotNet ${quick ? 'dry' : 'short'} job; medians; ratio = ethers time / CrossMargin time.`);
if (missed) console.log(`${missed} goal(s) missed.`);
