// Differential reference for MockPythUpdate: reads [{id, price:[p,conf,expo,time], ema:[...], prev}] on stdin,
// writes the ethers ABI encoding of (PythStructs.PriceFeed, uint64) for each as a JSON array of hex strings.
const path = require('path');
const repoRoot = process.argv[2];
const { AbiCoder } = require(path.join(repoRoot, 'devnet', 'node_modules', 'ethers'));
const coder = AbiCoder.defaultAbiCoder();
let input = '';
process.stdin.on('data', d => { input += d; });
process.stdin.on('end', () => {
  const cases = JSON.parse(input);
  const out = cases.map(c => coder.encode(
    ['tuple(bytes32 id, tuple(int64 price, uint64 conf, int32 expo, uint256 publishTime) price, tuple(int64 price, uint64 conf, int32 expo, uint256 publishTime) emaPrice)', 'uint64'],
    [[c.id, c.price.map(BigInt), c.ema.map(BigInt)], BigInt(c.prev)]));
  process.stdout.write(JSON.stringify(out));
});
