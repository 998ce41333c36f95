using System.Numerics;
using BenchmarkDotNet.Attributes;
using CrossMargin.Ethereum.Numerics;

namespace CrossMargin.Benchmarks;

/// <summary>UInt256 arithmetic against System.Numerics.BigInteger on the same operands.</summary>
[MemoryDiagnoser]
public class NumericsBenchmarks
{
    private UInt256 _a;
    private UInt256 _b;
    private UInt256 _wadPrice;
    private UInt256 _wad;
    private UInt256 _divisor128;
    private UInt256 _divisor192;
    private BigInteger _bigA;
    private BigInteger _bigB;
    private BigInteger _bigWadPrice;
    private BigInteger _bigWad;
    private BigInteger _bigDivisor128;
    private BigInteger _bigDivisor192;
    private static readonly BigInteger Mask256 = (BigInteger.One << 256) - 1;

    [GlobalSetup]
    public void Setup()
    {
        // Realistic margin-math operands: 18-decimal amounts and prices, plus full-width words.
        _a = UInt256.Parse("123456789012345678901234567890123456789012345678901234567890");
        _b = UInt256.Parse("98765432109876543210987654321098765432109876543210987654321");
        _wadPrice = UInt256.Parse("3512345678901234567890");          // 3512.34... * 1e18
        _wad = UInt256.Pow10(18);
        _divisor128 = UInt256.Parse("0xfedcba9876543210fedcba9876543210");
        _divisor192 = UInt256.Parse("0x123456789abcdef0fedcba9876543210fedcba9876543210");
        _bigA = (BigInteger)_a;
        _bigB = (BigInteger)_b;
        _bigWadPrice = (BigInteger)_wadPrice;
        _bigWad = (BigInteger)_wad;
        _bigDivisor128 = (BigInteger)_divisor128;
        _bigDivisor192 = (BigInteger)_divisor192;
    }

    [Benchmark]
    public UInt256 Mul_UInt256() => _a * _b;

    [Benchmark]
    public BigInteger Mul_BigInteger() => (_bigA * _bigB) & Mask256;

    [Benchmark]
    public UInt256 CheckedMul_UInt256() => checked(_wadPrice * _wadPrice);

    [Benchmark]
    public UInt256 Div64_UInt256() => _a / _wad;

    [Benchmark]
    public BigInteger Div64_BigInteger() => _bigA / _bigWad;

    [Benchmark]
    public UInt256 Div128_UInt256() => _a / _divisor128;

    [Benchmark]
    public BigInteger Div128_BigInteger() => _bigA / _bigDivisor128;

    [Benchmark]
    public UInt256 Div192_UInt256() => _a / _divisor192;

    [Benchmark]
    public BigInteger Div192_BigInteger() => _bigA / _bigDivisor192;

    /// <summary>Wad math: amount * price / 1e18 (product fits in 256 bits).</summary>
    [Benchmark]
    public UInt256 MulDivWad_UInt256() => UInt256.MulDiv(_b, _wadPrice, _wad);

    [Benchmark]
    public BigInteger MulDivWad_BigInteger() => _bigB * _bigWadPrice / _bigWad;

    /// <summary>512-bit product divided by a 192-bit value (long-division path).</summary>
    [Benchmark]
    public UInt256 MulDiv512_UInt256() => UInt256.MulDiv(_a, _b, _divisor192);

    [Benchmark]
    public BigInteger MulDiv512_BigInteger() => _bigA * _bigB / _bigDivisor192;

    [Benchmark]
    public UInt256 MulDivUp512_UInt256() => UInt256.MulDivUp(_a, _b, _divisor192);
}
