#!/usr/bin/env node
// Exports the deployable contracts listed in devnet/contracts-abi.json from forge's artifacts
// (devnet/out/<File>.sol/<Contract>.json, written by `forge build`) to
// contracts-abi/<Contract>.json = { "contractName", "abi", "bytecode" } (2-space JSON, trailing newline).
//
//   node devnet/tools/export-abi.cjs             write the files (and delete exported files no longer listed)
//   node devnet/tools/export-abi.cjs --check     write nothing; exit 1 listing missing, stale or extra files
//   --out-dir DIR                                 export to DIR instead of contracts-abi/
'use strict';
const fs = require('fs');
const path = require('path');

const devnetDir = path.resolve(__dirname, '..');
const repoRoot = path.resolve(devnetDir, '..');
const configPath = path.join(devnetDir, 'contracts-abi.json');
const artifactsDir = path.join(devnetDir, 'out');

function fail(message) {
  process.stderr.write(`export-abi: ${message}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { check: false, outDir: path.join(repoRoot, 'contracts-abi') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--check') opts.check = true;
    else if (a === '--out-dir' && i + 1 < argv.length) opts.outDir = path.resolve(argv[++i]);
    else if (a.startsWith('--out-dir=')) opts.outDir = path.resolve(a.slice('--out-dir='.length));
    else fail(`unknown argument ${a} (usage: export-abi.cjs [--check] [--out-dir DIR])`);
  }
  return opts;
}

function readConfig() {
  let config;
  try {
    config = JSON.parse(fs.readFileSync(configPath, 'utf8'));
  } catch (e) {
    fail(`cannot read devnet/contracts-abi.json: ${e.message}`);
  }
  const list = Array.isArray(config) ? config : config.contracts;
  if (!Array.isArray(list) || list.some((c) => typeof c !== 'string')) {
    fail('devnet/contracts-abi.json: "contracts" must be an array of contract names');
  }
  const entries = list.map((entry) => {
    const m = /^(?:([A-Za-z0-9_.\-/]+\.sol):)?([A-Za-z_][A-Za-z0-9_]*)$/.exec(entry);
    if (!m) fail(`devnet/contracts-abi.json: bad entry "${entry}" (expected Name or File.sol:Name)`);
    return { entry, file: m[1] ? path.basename(m[1]) : `${m[2]}.sol`, name: m[2] };
  });
  const seen = new Set();
  for (const e of entries) {
    if (seen.has(e.name)) fail(`devnet/contracts-abi.json: ${e.name} listed twice`);
    seen.add(e.name);
  }
  return entries;
}

function exportContract({ entry, file, name }) {
  const artifactPath = path.join(artifactsDir, file, `${name}.json`);
  if (!fs.existsSync(artifactPath)) {
    fail(`${entry}: no artifact out/${file}/${name}.json (run forge build in devnet/; use File.sol:Name when the file name differs)`);
  }
  const artifact = JSON.parse(fs.readFileSync(artifactPath, 'utf8'));
  const bytecode = artifact.bytecode && artifact.bytecode.object;
  if (!Array.isArray(artifact.abi)) fail(`${entry}: artifact has no abi`);
  if (typeof bytecode !== 'string' || !/^0x([0-9a-fA-F]{2})+$/.test(bytecode)) {
    const linked = artifact.bytecode && artifact.bytecode.linkReferences && Object.keys(artifact.bytecode.linkReferences).length > 0;
    fail(`${entry}: ${linked ? 'bytecode needs library linking' : 'no creation bytecode (abstract contract or interface?)'}`);
  }
  const out = { contractName: name, abi: artifact.abi, bytecode: bytecode.toLowerCase() };
  return { name, content: `${JSON.stringify(out, null, 2)}\n` };
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const exported = readConfig().map(exportContract);
  const wanted = new Set(exported.map((e) => `${e.name}.json`));
  const existing = fs.existsSync(opts.outDir) ? fs.readdirSync(opts.outDir).filter((f) => f.endsWith('.json')) : [];
  const extra = existing.filter((f) => !wanted.has(f)).sort();

  if (opts.check) {
    const problems = [];
    for (const { name, content } of exported) {
      const file = path.join(opts.outDir, `${name}.json`);
      if (!fs.existsSync(file)) problems.push(`missing: contracts-abi/${name}.json`);
      else if (fs.readFileSync(file, 'utf8') !== content) problems.push(`stale:   contracts-abi/${name}.json`);
    }
    for (const f of extra) problems.push(`extra:   contracts-abi/${f} (not listed in devnet/contracts-abi.json)`);
    if (problems.length > 0) {
      process.stdout.write(`${problems.join('\n')}\ncontracts-abi is out of date: run node devnet/tools/export-abi.cjs after forge build\n`);
      process.exit(1);
    }
    process.stdout.write(`contracts-abi is up to date (${exported.length} contracts)\n`);
    return;
  }

  fs.mkdirSync(opts.outDir, { recursive: true });
  for (const { name, content } of exported) {
    const file = path.join(opts.outDir, `${name}.json`);
    if (!fs.existsSync(file) || fs.readFileSync(file, 'utf8') !== content) {
      fs.writeFileSync(file, content);
      process.stdout.write(`wrote contracts-abi/${name}.json\n`);
    }
  }
  for (const f of extra) {
    fs.unlinkSync(path.join(opts.outDir, f));
    process.stdout.write(`deleted contracts-abi/${f}\n`);
  }
}

main();
