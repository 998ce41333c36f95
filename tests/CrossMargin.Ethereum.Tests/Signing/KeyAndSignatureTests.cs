using System.Numerics;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Ethereum.Signing;

namespace CrossMargin.Ethereum.Tests.Signing;

public class KeyAndSignatureTests
{
    // Anvil's well-known development account #0 (public test key, never for real funds).
    internal const string AnvilDevKey0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
    internal const string AnvilDevAddress0 = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";

    public static TheoryData<string, string> KeyVectors()
    {
        var data = new TheoryData<string, string>();
        using var doc = SharedVectors.Load("eip55_addresses_selectors.json");
        foreach (var v in doc.RootElement.GetProperty("private_key_to_address").EnumerateArray())
            data.Add(v.GetProperty("privateKey").GetString()!, v.GetProperty("address").GetString()!);
        return data;
    }

    [Theory]
    [MemberData(nameof(KeyVectors))]
    public void Private_key_derives_the_vector_address(string key, string address)
    {
        using var k = PrivateKey.FromHex(key);
        Assert.Equal(address, k.Address.ToString());
    }

    [Fact]
    public void Anvil_dev_key_derives_its_address()
    {
        using var k = PrivateKey.FromHex(AnvilDevKey0);
        Assert.Equal(AnvilDevAddress0, k.Address.ToString());
    }

    [Theory]
    [InlineData("0x0000000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141")] // n
    [InlineData("0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff")]
    [InlineData("0x01")]
    [InlineData("0xzz")]
    public void Invalid_keys_are_rejected_without_echoing_them(string hex)
    {
        var ex = Assert.ThrowsAny<ArgumentException>(() => PrivateKey.FromHex(hex));
        Assert.DoesNotContain(hex[2..], ex.ToString(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Largest_valid_key_is_accepted()
    {
        using var k = PrivateKey.FromHex("0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140");
        Assert.False(k.Address.IsZero);
    }

    [Fact]
    public void Key_never_appears_in_text_and_is_zeroed_on_dispose()
    {
        var k = PrivateKey.FromHex(AnvilDevKey0);
        string keyDigits = AnvilDevKey0[2..];
        Assert.DoesNotContain(keyDigits, k.ToString(), StringComparison.OrdinalIgnoreCase);
        Assert.Contains(AnvilDevAddress0, k.ToString(), StringComparison.Ordinal);
        var display = (System.Diagnostics.DebuggerDisplayAttribute)Attribute.GetCustomAttribute(typeof(PrivateKey), typeof(System.Diagnostics.DebuggerDisplayAttribute))!;
        Assert.Equal("{ToString(),nq}", display.Value);

        byte[] exported = new byte[32];
        k.ExportTo(exported);
        Assert.Equal(keyDigits, Convert.ToHexStringLower(exported));

        k.Dispose();
        var ex = Assert.Throws<ObjectDisposedException>(() => k.Sign(Hash32.Zero));
        Assert.DoesNotContain(keyDigits, ex.ToString(), StringComparison.OrdinalIgnoreCase);
        Assert.Throws<ObjectDisposedException>(() => k.ExportTo(exported));
        // the private buffer is zero after Dispose
        var field = typeof(PrivateKey).GetField("_key", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!;
        Assert.All((byte[])field.GetValue(k)!, b => Assert.Equal(0, b));
    }

    [Fact]
    public void Signatures_are_low_s_and_recover_across_many_messages()
    {
        int seed = 1559;
        var rng = new Random(seed);
        using var k = PrivateKey.FromHex(AnvilDevKey0);
        var hashBytes = new byte[32];
        for (int i = 0; i < 100; i++)
        {
            rng.NextBytes(hashBytes);
            var h = new Hash32(hashBytes);
            var sig = k.Sign(h);
            Assert.True(sig.IsLowS, $"seed {seed} iteration {i}");
            Assert.True(sig.RecoveryId <= 1, $"seed {seed} iteration {i}");
            Assert.Equal(k.Address, Ecdsa.EcRecover(h, sig.R, sig.S, sig.YParity));
            // the other parity designates a different key (or none)
            if (Ecdsa.TryEcRecover(h, sig.R, sig.S, (byte)(sig.YParity ^ 1), out var other)) Assert.NotEqual(k.Address, other);
            // deterministic (RFC 6979)
            Assert.Equal(sig, k.Sign(h));
        }
    }

    [Fact]
    public void Recover_is_strict_about_ranges_and_high_s()
    {
        using var k = PrivateKey.FromHex(AnvilDevKey0);
        var h = Crypto.Keccak256.ComputeUtf8("strict");
        var sig = k.Sign(h);
        UInt256 n = Ecdsa.CurveOrder;
        UInt256 highS = n - sig.S;

        Assert.Equal(SignatureError.HighS, Assert.Throws<SignatureException>(() => Ecdsa.EcRecover(h, sig.R, highS, (byte)(sig.YParity ^ 1))).Error);
        // the precompile's rule accepts high s with the flipped parity and finds the same key
        Assert.Equal(k.Address, Ecdsa.EcRecover(h, sig.R, highS, (byte)(sig.YParity ^ 1), requireLowS: false));

        Assert.Equal(SignatureError.ROutOfRange, Assert.Throws<SignatureException>(() => Ecdsa.EcRecover(h, UInt256.Zero, sig.S, 0)).Error);
        Assert.Equal(SignatureError.ROutOfRange, Assert.Throws<SignatureException>(() => Ecdsa.EcRecover(h, n, sig.S, 0)).Error);
        Assert.Equal(SignatureError.SOutOfRange, Assert.Throws<SignatureException>(() => Ecdsa.EcRecover(h, sig.R, UInt256.Zero, 0)).Error);
        Assert.Equal(SignatureError.SOutOfRange, Assert.Throws<SignatureException>(() => Ecdsa.EcRecover(h, sig.R, n, 0, requireLowS: false)).Error);
        Assert.Equal(SignatureError.InvalidRecoveryId, Assert.Throws<SignatureException>(() => Ecdsa.EcRecover(h, sig.R, sig.S, 2)).Error);
        // r = 5 is not the x of a curve point... find an x that is not on the curve
        UInt256 x = 1;
        while (Ecdsa.TryEcRecover(h, x, sig.S, 0, out _)) x += UInt256.One;
        var ex = Assert.Throws<SignatureException>(() => Ecdsa.EcRecover(h, x, sig.S, 0));
        Assert.Equal(SignatureError.NotOnCurve, ex.Error);
    }

    [Fact]
    public void Curve_order_constant_is_secp256k1_n()
    {
        var n = BigInteger.Parse("115792089237316195423570985008687907852837564279074904382605163141518161494337");
        Assert.Equal(n, (BigInteger)Ecdsa.CurveOrder);
        Assert.Equal(n / 2, (BigInteger)Ecdsa.HalfCurveOrder);
    }
}
