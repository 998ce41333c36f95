using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using CrossMargin.Keeper.Market;
using CrossMargin.Keeper.Tests.Oracle;

namespace CrossMargin.Keeper.Tests.Market;

public class MockPythUpdateTests
{
    private static readonly byte[] EthId = Convert.FromHexString("ff61491a931112ddf1bd8147cd1b641375f79f5825126d665480874634fd0ace");

    [Fact]
    public void Layout_is_ten_words_with_sign_extension()
    {
        byte[] blob = MockPythUpdate.Encode(EthId, new PythPrice(-5, 7, -8, 1700000000), new PythPrice(352145000000, 12345, -8, 1700000001), 1699999999);
        Assert.Equal(320, blob.Length);
        Assert.Equal(EthId, blob[..32]);
        Assert.Equal(Convert.FromHexString("fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffb"), blob[32..64]); // int64 -5
        Assert.Equal(7, blob[95]);
        Assert.Equal(Convert.FromHexString("fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff8"), blob[96..128]); // int32 -8
        Assert.Equal("000000000000000000000000000000000000000000000000000000006553f100", Convert.ToHexStringLower(blob[128..160]));
        Assert.Equal("000000000000000000000000000000000000000000000000000000006553f0ff", Convert.ToHexStringLower(blob[288..320]));
    }

    [Fact]
    public void Roundtrips_and_decoder_is_strict()
    {
        var price = new PythPrice(long.MinValue, ulong.MaxValue, int.MinValue, ulong.MaxValue);
        var ema = new PythPrice(long.MaxValue, 0, int.MaxValue, 0);
        byte[] blob = MockPythUpdate.Encode(EthId, price, ema, 42);
        MockPythPriceFeed d = MockPythUpdate.Decode(blob);
        Assert.Equal(EthId, d.Id);
        Assert.Equal(price, d.Price);
        Assert.Equal(ema, d.EmaPrice);
        Assert.Equal(42UL, d.PrevPublishTime);

        Assert.Throws<MockPythFormatException>(() => MockPythUpdate.Decode(blob.AsSpan(0, 288)));
        byte[] bad = (byte[])blob.Clone();
        bad[32] = 0x7f; // int64 word not sign-extended
        Assert.Throws<MockPythFormatException>(() => MockPythUpdate.Decode(bad));
        bad = (byte[])blob.Clone();
        bad[100] = 0x00; // int32 expo word (negative) with broken extension
        Assert.Throws<MockPythFormatException>(() => MockPythUpdate.Decode(bad));
        bad = (byte[])blob.Clone();
        bad[64] = 1; // uint64 conf with a high byte
        Assert.Throws<MockPythFormatException>(() => MockPythUpdate.Decode(bad));
        Assert.Throws<ArgumentException>(() => MockPythUpdate.Encode(EthId.AsSpan(1), price, ema, 0));
    }

    [Fact]
    public void Matches_ethers_abi_encoding()
    {
        const int seed = 77;
        var rng = new Random(seed);
        var cases = new List<(byte[] Id, PythPrice P, PythPrice E, ulong Prev)>();
        for (int i = 0; i < 40; i++)
        {
            byte[] id = new byte[32];
            rng.NextBytes(id);
            PythPrice R() => new(rng.NextInt64(long.MinValue, long.MaxValue), (ulong)rng.NextInt64() * 2, rng.Next(int.MinValue, int.MaxValue), (ulong)rng.NextInt64());
            cases.Add((id, R(), R(), (ulong)rng.NextInt64()));
        }
        cases.Add((EthId, new PythPrice(352145000000, 12345, -8, 1700000000), new PythPrice(-1, 0, 0, 0), 0));

        static string[] P(PythPrice p) =>
        [
            p.Price.ToString(CultureInfo.InvariantCulture), p.Conf.ToString(CultureInfo.InvariantCulture),
            p.Expo.ToString(CultureInfo.InvariantCulture), p.PublishTime.ToString(CultureInfo.InvariantCulture),
        ];
        string input = JsonSerializer.Serialize(cases.Select(c => new Dictionary<string, object>
        {
            ["id"] = "0x" + Convert.ToHexStringLower(c.Id),
            ["price"] = P(c.P),
            ["ema"] = P(c.E),
            ["prev"] = c.Prev.ToString(CultureInfo.InvariantCulture),
        }).ToList());

        string script = Path.Combine(TestFiles.RepoRoot, "tests", "CrossMargin.Keeper.Tests", "Market", "mockpyth_encode.cjs");
        var psi = new ProcessStartInfo("node") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(script);
        psi.ArgumentList.Add(TestFiles.RepoRoot);
        using Process p = Process.Start(psi)!;
        p.StandardInput.Write(input);
        p.StandardInput.Close();
        string stdout = p.StandardOutput.ReadToEnd();
        string stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, stderr);
        string[] expected = JsonSerializer.Deserialize<string[]>(stdout)!;
        Assert.Equal(cases.Count, expected.Length);
        for (int i = 0; i < cases.Count; i++)
        {
            string mine = "0x" + Convert.ToHexStringLower(MockPythUpdate.Encode(cases[i].Id, cases[i].P, cases[i].E, cases[i].Prev));
            Assert.True(expected[i] == mine, $"seed {seed}, case {i}: ethers {expected[i]} vs {mine}");
        }
    }
}
