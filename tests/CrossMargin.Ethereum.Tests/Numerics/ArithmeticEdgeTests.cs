using System.Numerics;
using CrossMargin.Ethereum.Numerics;

namespace CrossMargin.Ethereum.Tests.Numerics;

public class ArithmeticEdgeTests
{
    private static readonly UInt256 Max = UInt256.MaxValue;
    private static readonly UInt256 Two64 = new(0, 1, 0, 0);
    private static readonly UInt256 Two128 = new(0, 0, 1, 0);
    private static readonly UInt256 Two255 = UInt256.One << 255;
    private static readonly UInt256 Wad = UInt256.Pow10(18);

    private static UInt256 U(string s) => UInt256.Parse(s);

    [Fact]
    public void Add_carries_across_every_limb()
    {
        Assert.Equal(Two64, (UInt256)ulong.MaxValue + UInt256.One);
        Assert.Equal(Two128, new UInt256(ulong.MaxValue, ulong.MaxValue, 0, 0) + UInt256.One);
        Assert.Equal(new UInt256(0, 0, 0, 1), new UInt256(ulong.MaxValue, ulong.MaxValue, ulong.MaxValue, 0) + UInt256.One);
        Assert.Equal(UInt256.Zero, Max + UInt256.One);
        Assert.Throws<OverflowException>(() => checked(Max + UInt256.One));
        Assert.Throws<OverflowException>(() => UInt256.CheckedAdd(Two255, Two255));
        Assert.Equal(Max, checked(Two255 + (Two255 - UInt256.One)));
        Assert.Equal(Max, UInt256.SaturatingAdd(Max, Max));
        UInt256 x = Max;
        x++;
        Assert.Equal(UInt256.Zero, x);
    }

    [Fact]
    public void Sub_borrows_across_every_limb()
    {
        Assert.Equal((UInt256)ulong.MaxValue, Two64 - UInt256.One);
        Assert.Equal(Max, UInt256.Zero - UInt256.One);
        Assert.Throws<OverflowException>(() => checked(UInt256.Zero - UInt256.One));
        Assert.Throws<OverflowException>(() => checked(Two64 - Two128));
        Assert.Equal(UInt256.Zero, UInt256.SaturatingSub(Two64, Two128));
        UInt256 z = UInt256.Zero;
        Assert.Throws<OverflowException>(() => checked(--z));
    }

    [Fact]
    public void Mul_edges()
    {
        Assert.Equal(new UInt256(1, ulong.MaxValue - 1, 0, 0), (UInt256)ulong.MaxValue * (UInt256)ulong.MaxValue);
        Assert.Equal(UInt256.One, Max * Max); // (-1)^2 mod 2^256
        Assert.Throws<OverflowException>(() => checked(Max * Max));
        Assert.Throws<OverflowException>(() => checked(Two128 * Two128));
        Assert.Equal(UInt256.Zero, Two128 * Two128);
        Assert.Equal(Two255, checked((Two128 >> 1) * Two128));
        Assert.Equal(Max, checked(Max * UInt256.One));
        Assert.Equal(UInt256.Zero, checked(Max * UInt256.Zero));
        Assert.Throws<OverflowException>(() => UInt256.CheckedMul(Two255, (UInt256)2UL));
    }

    [Fact]
    public void Division_edges()
    {
        Assert.Throws<DivideByZeroException>(() => UInt256.One / UInt256.Zero);
        Assert.Throws<DivideByZeroException>(() => Max % UInt256.Zero);
        Assert.Throws<DivideByZeroException>(() => UInt256.DivUp(UInt256.One, UInt256.Zero));
        Assert.Equal(UInt256.One, Max / Max);
        Assert.Equal(UInt256.Zero, Max % Max);
        Assert.Equal(Max, Max / UInt256.One);
        Assert.Equal(UInt256.Zero, (Max - UInt256.One) / Max);
        Assert.Equal(Max - UInt256.One, (Max - UInt256.One) % Max);
        for (int k = 0; k < 256; k++)
        {
            UInt256 p = UInt256.One << k;
            Assert.Equal(Max >> k, Max / p);
            Assert.Equal(p - UInt256.One, Max % p);
            Assert.Equal(UInt256.One << (255 - k), Two255 / p);
        }
        Assert.Equal(UInt256.Zero, UInt256.DivUp(UInt256.Zero, (UInt256)7UL));
        Assert.Equal((UInt256)2UL, UInt256.DivUp((UInt256)7UL, (UInt256)4UL));
        Assert.Equal((UInt256)2UL, UInt256.DivUp((UInt256)8UL, (UInt256)4UL));
        // Max / (2^128 - 1) = 2^128 + 1 exactly.
        Assert.Equal(Two128 + UInt256.One, UInt256.DivUp(Max, Two128 - UInt256.One));
        Assert.Equal(Two128 + UInt256.One, Max / (Two128 - UInt256.One));
        Assert.Equal(Two255, UInt256.DivUp(Max, (UInt256)2UL));
    }

    [Fact]
    public void Knuth_division_add_back_cases()
    {
        // Dividends/divisors with extreme limbs force qhat corrections and the rare add-back step.
        (UInt256 a, UInt256 b)[] cases =
        {
            (new UInt256(0, 0, 0, 0x8000_0000_0000_0000), new UInt256(1, 0, 0x8000_0000_0000_0000, 0)),
            (new UInt256(0, ulong.MaxValue, 0, 0x7FFF_FFFF_FFFF_FFFF), new UInt256(ulong.MaxValue, 0, 0x8000_0000_0000_0000, 0)),
            (new UInt256(0, 0, 0xFFFF_FFFF_FFFF_FFFE, 0x8000_0000_0000_0000), new UInt256(ulong.MaxValue, ulong.MaxValue, 0x8000_0000_0000_0000, 0)),
            (new UInt256(3, 0, 0x8000_0000_0000_0000, 0), new UInt256(1, 0, 0x2000_0000_0000_0000, 0)),
            (new UInt256(0, 0, 0x8000_0000_0000_0000, 0x7FFF_FFFF_FFFF_FFFF), new UInt256(1, 0, 0, 0x8000_0000_0000_0000)),
            (Max, new UInt256(ulong.MaxValue, ulong.MaxValue, 0, 0)),
            (Max, new UInt256(0, 1, 0, 0) + UInt256.One),
        };
        foreach (var (a, b) in cases)
        {
            BigInteger q = BigInteger.DivRem((BigInteger)a, (BigInteger)b, out BigInteger r);
            Assert.Equal(q, (BigInteger)(a / b));
            Assert.Equal(r, (BigInteger)(a % b));
        }
    }

    [Fact]
    public void MulDiv_rounding()
    {
        Assert.Equal((UInt256)3UL, UInt256.MulDiv((UInt256)10UL, (UInt256)1UL, (UInt256)3UL));
        Assert.Equal((UInt256)4UL, UInt256.MulDivUp((UInt256)10UL, (UInt256)1UL, (UInt256)3UL));
        Assert.Equal((UInt256)4UL, UInt256.MulDivUp((UInt256)12UL, (UInt256)1UL, (UInt256)3UL));
        Assert.Equal(UInt256.Zero, UInt256.MulDivUp(UInt256.Zero, Max, (UInt256)3UL));
        // Wad math: 1.5e18 * 2.5e18 / 1e18 = 3.75e18.
        Assert.Equal(U("3750000000000000000"), UInt256.MulDiv(U("1500000000000000000"), U("2500000000000000000"), Wad));
        // Max * Max / Max needs the full 512-bit product.
        Assert.Equal(Max, UInt256.MulDiv(Max, Max, Max));
        Assert.Equal(Max, UInt256.MulDivUp(Max, Max, Max));
        Assert.Equal(Max - UInt256.One, UInt256.MulDiv(Max, Max - UInt256.One, Max));
        // (M - 1)^2 / M = M - 2 + 1/M for M = 2^256 - 1.
        Assert.Equal(Max - (UInt256)2UL, UInt256.MulDiv(Max - UInt256.One, Max - UInt256.One, Max));
        Assert.Equal(Max - UInt256.One, UInt256.MulDivUp(Max - UInt256.One, Max - UInt256.One, Max));
        // Product fits, quotient rounding up overflows.
        Assert.Equal(Max, UInt256.MulDiv(Max, (UInt256)3UL, (UInt256)3UL));
        Assert.Equal(Max, UInt256.MulDiv(Max, Two128, Two128));
        Assert.Equal(Two255, UInt256.MulDiv(Two255, Two255, Two255));
    }

    [Fact]
    public void MulDiv_overflow_and_zero_divisor()
    {
        Assert.Throws<DivideByZeroException>(() => UInt256.MulDiv(UInt256.One, UInt256.One, UInt256.Zero));
        Assert.Throws<DivideByZeroException>(() => UInt256.MulDivUp(UInt256.One, UInt256.One, UInt256.Zero));
        Assert.Throws<DivideByZeroException>(() => UInt256.MulDiv(UInt256.Zero, UInt256.Zero, UInt256.Zero));
        Assert.Throws<OverflowException>(() => UInt256.MulDiv(Max, Max, Max - UInt256.One));
        Assert.Throws<OverflowException>(() => UInt256.MulDiv(Max, (UInt256)2UL, UInt256.One));
        Assert.Throws<OverflowException>(() => UInt256.MulDiv(Two128, Two128, UInt256.One));
        // Floor fits exactly at Max while ceil overflows: (2^256 - 1) * 3 / 3 is exact, (2^256 - 1) * 3 / 2 is not.
        Assert.Throws<OverflowException>(() => UInt256.MulDivUp(Max, (UInt256)3UL, (UInt256)2UL));
        Assert.Throws<OverflowException>(() => UInt256.MulDivUp(Max, Max, Max - UInt256.One));
        // Quotient exactly Max with a non-zero remainder: floor is Max, ceil overflows.
        // With d = 2^128 + 2, y = d + 1, x = Max - floor(Max / y): x * y = Max * d + (Max mod y), and Max mod y = 8.
        UInt256 d = Two128 + (UInt256)2UL;
        UInt256 y = d + UInt256.One;
        UInt256 x = Max - Max / y;
        BigInteger q = BigInteger.DivRem((BigInteger)x * (BigInteger)y, (BigInteger)d, out BigInteger r);
        Assert.Equal((BigInteger)Max, q);
        Assert.Equal(new BigInteger(8), r);
        Assert.Equal(Max, UInt256.MulDiv(x, y, d));
        Assert.Throws<OverflowException>(() => UInt256.MulDivUp(x, y, d));
        // Max * Max / (Max - 1) overflows; Max * (Max - 1) / Max = Max - 1 exactly.
        Assert.Equal(Max - UInt256.One, UInt256.MulDivUp(Max, Max - UInt256.One, Max));
    }

    [Fact]
    public void Shifts_follow_evm_semantics()
    {
        Assert.Equal(UInt256.Zero, Max << 256);
        Assert.Equal(UInt256.Zero, Max >> 256);
        Assert.Equal(UInt256.Zero, Max >> int.MaxValue);
        Assert.Equal(Two255, UInt256.One << 255);
        Assert.Equal(UInt256.One, Two255 >> 255);
        Assert.Equal(Two64, UInt256.One << 64);
        Assert.Throws<ArgumentOutOfRangeException>(() => UInt256.One << -1);
        Assert.Equal(Int256.MinusOne, Int256.MinValue >> 255);
        Assert.Equal(Int256.MinusOne, Int256.MinValue >> 1000);
        Assert.Equal(Int256.Zero, Int256.MaxValue >> 1000);
        Assert.Equal((Int256)(-4), (Int256)(-7) >> 1); // floor, unlike division
        Assert.Equal(Int256.One, Int256.MinValue >>> 255);
    }

    [Fact]
    public void Pow10_and_pow()
    {
        Assert.Equal(UInt256.One, UInt256.Pow10(0));
        Assert.Equal(Wad, (UInt256)1_000_000_000_000_000_000UL);
        Assert.Equal(BigInteger.Pow(10, 77), (BigInteger)UInt256.Pow10(77));
        Assert.Throws<OverflowException>(() => UInt256.Pow10(78));
        Assert.Throws<ArgumentOutOfRangeException>(() => UInt256.Pow10(-1));
        Assert.Equal(UInt256.Pow10(77), UInt256.CheckedPow((UInt256)10UL, 77));
        Assert.Throws<OverflowException>(() => UInt256.CheckedPow((UInt256)10UL, 78));
        Assert.Equal(Two255, UInt256.CheckedPow((UInt256)2UL, 255));
        Assert.Throws<OverflowException>(() => UInt256.CheckedPow((UInt256)2UL, 256));
        Assert.Equal(UInt256.Zero, UInt256.Pow((UInt256)2UL, 256));
        Assert.Equal(UInt256.One, UInt256.Pow(UInt256.Zero, 0));
        Assert.Equal(Two128 - UInt256.One, UInt256.Sqrt(Max));
        Assert.Equal(255, UInt256.Log2(Max));
    }

    [Fact]
    public void Int256_overflow_cases()
    {
        Int256 min = Int256.MinValue;
        Int256 max = Int256.MaxValue;
        Int256 m1 = Int256.MinusOne;
        Assert.Equal(min, max + Int256.One);
        Assert.Throws<OverflowException>(() => checked(max + Int256.One));
        Assert.Throws<OverflowException>(() => checked(min - Int256.One));
        Assert.Throws<OverflowException>(() => checked(min + m1));
        Assert.Equal(m1, checked(min + max));
        Assert.Throws<OverflowException>(() => checked(Int256.Zero - min));
        Assert.Equal(min, -min);
        Assert.Throws<OverflowException>(() => checked(-min));
        Assert.Throws<OverflowException>(() => Int256.CheckedNegate(min));
        Assert.Throws<OverflowException>(() => Int256.Abs(min));
        Assert.Equal(max, Int256.Abs(min + Int256.One));
        Assert.Equal(UInt256.One << 255, min.UnsignedAbs);
        Assert.Equal(min, checked(min * Int256.One));
        Assert.Throws<OverflowException>(() => checked(min * m1));
        Assert.Equal(min, min * m1);
        Assert.Equal(min, checked((Int256)(-(Int128)1 << 127) * ((Int256)1 << 128)));
        Assert.Throws<OverflowException>(() => checked(((Int256)1 << 127) * ((Int256)1 << 128)));
        // Solidity: type(int256).min / -1 reverts in checked mode and is type(int256).min when unchecked.
        Assert.Equal(min, min / m1);
        Assert.Throws<OverflowException>(() => checked(min / m1));
        Assert.Throws<OverflowException>(() => Int256.CheckedDiv(min, m1));
        Assert.Throws<OverflowException>(() => Int256.DivRem(min, m1, out _));
        Assert.Equal(Int256.Zero, min % m1);
        Assert.Equal(Int256.One, min / min);
        Assert.Throws<DivideByZeroException>(() => Int256.One / Int256.Zero);
        Assert.Throws<DivideByZeroException>(() => Int256.One % Int256.Zero);
    }

    [Fact]
    public void Int256_division_truncates_toward_zero()
    {
        Assert.Equal((Int256)(-2), (Int256)(-7) / (Int256)3);
        Assert.Equal((Int256)(-1), (Int256)(-7) % (Int256)3);
        Assert.Equal((Int256)(-2), (Int256)7 / (Int256)(-3));
        Assert.Equal((Int256)1, (Int256)7 % (Int256)(-3));
        Assert.Equal((Int256)2, (Int256)(-7) / (Int256)(-3));
        Assert.Equal((Int256)(-1), (Int256)(-7) % (Int256)(-3));
        Assert.Equal(Int256.Zero, (Int256)(-1) / (Int256)2);
        Assert.Equal((Int256)(-1), (Int256)(-1) % (Int256)2);
        // Signed MulDiv truncates toward zero as well: -10 * 1 / 3 = -3.
        Assert.Equal((Int256)(-3), Int256.MulDiv((Int256)(-10), Int256.One, (Int256)3));
        Assert.Equal((Int256)(-3), Int256.MulDiv((Int256)10, Int256.One, (Int256)(-3)));
        Assert.Equal((Int256)3, Int256.MulDiv((Int256)(-10), (Int256)(-1), (Int256)3));
        Assert.Equal(Int256.MinValue, Int256.MulDiv(Int256.MinValue, Int256.One, Int256.One));
        Assert.Throws<OverflowException>(() => Int256.MulDiv(Int256.MinValue, Int256.MinusOne, Int256.One));
        Assert.Equal(Int256.MaxValue, Int256.MulDiv(Int256.MaxValue, Int256.MaxValue, Int256.MaxValue));
    }
}
