// Differential helper for the C# ABI tests: reads {cases:[{types, values, hex}]} as JSON on stdin,
// encodes values with ethers 6 and decodes the C# hex with ethers, and writes {results:[{hex, decoded, error}]}.
// Value JSON: ints as decimal strings, addresses and bytes as lower-case 0x-hex, arrays/tuples as arrays.
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
const root = process.env.CROSSMARGIN_REPO_ROOT || findRepoRoot(__dirname);
const { ethers } = require(path.join(root, 'devnet', 'node_modules', 'ethers'));
const coder = ethers.AbiCoder.defaultAbiCoder();

function toEthers(pt, v) {
  switch (pt.baseType) {
    case 'array': return v.map((x) => toEthers(pt.arrayChildren, x));
    case 'tuple': return v.map((x, i) => toEthers(pt.components[i], x));
    case 'address': case 'bool': case 'string': return v;
    default:
      if (pt.baseType.startsWith('uint') || pt.baseType.startsWith('int')) return BigInt(v);
      return v; // bytes, bytesN as hex
  }
}

function fromEthers(pt, v) {
  switch (pt.baseType) {
    case 'array': return Array.from(v, (x) => fromEthers(pt.arrayChildren, x));
    case 'tuple': return Array.from(v, (x, i) => fromEthers(pt.components[i], x));
    case 'address': return v.toLowerCase();
    case 'bool': case 'string': return v;
    default:
      if (pt.baseType.startsWith('uint') || pt.baseType.startsWith('int')) return v.toString();
      return v.toLowerCase();
  }
}

const input = JSON.parse(fs.readFileSync(0, 'utf8'));
const results = input.cases.map((c) => {
  const out = {};
  try {
    const pts = c.types.map((t) => ethers.ParamType.from(t));
    out.hex = coder.encode(pts, c.values.map((v, i) => toEthers(pts[i], v)));
    if (c.hex) {
      const decoded = coder.decode(pts, c.hex);
      out.decoded = pts.map((pt, i) => fromEthers(pt, decoded[i]));
    }
  } catch (e) {
    out.error = String(e && e.message || e);
  }
  return out;
});
process.stdout.write(JSON.stringify({ results }));
