using BenchmarkDotNet.Attributes;
using CrossMargin.Ethereum.Crypto;

namespace CrossMargin.Benchmarks;

/// <summary>Keccak-256 of 32 bytes and of 1 KiB (bench/ethers/keccak.cjs times the same in ethers 6).</summary>
[MemoryDiagnoser]
public class KeccakBenchmarks
{
    private readonly byte[] _input32 = new byte[32];
    private readonly byte[] _input1KiB = new byte[1024];
    private readonly byte[] _output = new byte[32];

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(1);
        rng.NextBytes(_input32);
        rng.NextBytes(_input1KiB);
    }

    [Benchmark]
    public byte Keccak32()
    {
        Keccak256.Hash(_input32, _output);
        return _output[0];
    }

    [Benchmark]
    public byte Keccak1KiB()
    {
        Keccak256.Hash(_input1KiB, _output);
        return _output[0];
    }
}
