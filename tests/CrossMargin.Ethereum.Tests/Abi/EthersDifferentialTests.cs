using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using CrossMargin.Ethereum.Abi;

namespace CrossMargin.Ethereum.Tests.Abi;

/// <summary>
/// Random nested types and values, encoded by this codec and by ethers 6 (one node process for the whole batch):
/// the bytes must be equal, and each side must decode the other's bytes back to the same values.
/// </summary>
public class EthersDifferentialTests
{
    private const int Seed = 20240611;
    private const int Cases = 1500;

    [Fact]
    public void Random_values_match_ethers_byte_for_byte()
    {
        var rng = new Random(Seed);
        var cases = new List<(AbiType[] Types, object?[] Values, byte[] Encoded)>();
        var request = new JsonArray();
        for (int i = 0; i < Cases; i++)
        {
            var types = new AbiType[1 + rng.Next(4)];
            for (int j = 0; j < types.Length; j++) types[j] = AbiTestValues.RandomType(rng, 3);
            var values = types.Select(t => AbiTestValues.RandomValue(rng, t)).ToArray();
            byte[] enc = AbiEncoder.Encode(types, values);
            cases.Add((types, values, enc));
            request.Add(new JsonObject
            {
                ["types"] = new JsonArray(types.Select(t => (JsonNode?)JsonValue.Create(t.CanonicalName)).ToArray()),
                ["values"] = AbiTestValues.ToJson(types, values),
                ["hex"] = Hex.Encode(enc),
            });
        }

        string output = RunNode(new JsonObject { ["cases"] = request }.ToJsonString());
        using var doc = JsonDocument.Parse(output);
        var results = doc.RootElement.GetProperty("results");
        Assert.Equal(Cases, results.GetArrayLength());

        int i2 = 0;
        foreach (var res in results.EnumerateArray())
        {
            var (types, values, enc) = cases[i2];
            string where = $"seed {Seed}, case {i2}, types ({string.Join(",", types.Select(t => t.CanonicalName))})";
            Assert.False(res.TryGetProperty("error", out var err), $"{where}: ethers failed: {(err.ValueKind == JsonValueKind.String ? err.GetString() : "")}");
            string ethersHex = res.GetProperty("hex").GetString()!;
            Assert.True(Hex.Encode(enc) == ethersHex, $"{where}: encodings differ\n ours:   {Hex.Encode(enc)}\n ethers: {ethersHex}");

            string expected = AbiTestValues.Canonical(types, values);
            // ethers decoded our bytes
            string ethersDecoded = JsonNode.Parse(res.GetProperty("decoded").GetRawText())!.ToJsonString();
            Assert.True(expected == ethersDecoded, $"{where}: ethers decoded our bytes differently\n{ethersDecoded}\n{expected}");
            // we decode ethers' bytes
            var ours = AbiDecoder.Decode(types, Hex.Decode(ethersHex));
            Assert.True(expected == AbiTestValues.Canonical(types, ours), $"{where}: we decoded ethers' bytes differently");
            i2++;
        }
    }

    internal static string RunNode(string input)
    {
        string script = Path.Combine(SharedVectors.RepoRoot, "tests", "CrossMargin.Ethereum.Tests", "Abi", "ethers-abi.cjs");
        var psi = new ProcessStartInfo("node", [script])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("could not start node");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        p.StandardInput.Write(input);
        p.StandardInput.Close();
        if (!p.WaitForExit(120_000))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException("node did not finish in 120 s");
        }
        string outText = stdout.GetAwaiter().GetResult();
        Assert.True(p.ExitCode == 0, $"node exited with {p.ExitCode}: {stderr.GetAwaiter().GetResult()}");
        return outText;
    }
}
