using System.Text.Json;
using System.Text.Json.Nodes;
using CrossMargin.Ethereum.Signing;
using CrossMargin.Ethereum.Transactions;

namespace CrossMargin.Ethereum.Tests.Transactions;

public class EthersDifferentialTests
{
    private const int Count = 250;

    private static int Seed => int.TryParse(Environment.GetEnvironmentVariable("CROSSMARGIN_TX_SEED"), out int s) ? s : 0x1559_2024;

    [Fact]
    public void Random_eip1559_transactions_sign_identically_in_ethers()
    {
        int seed = Seed;
        var gen = new RandomTransactions(seed);
        var txs = new List<(UnsignedTransaction Tx, byte[] Key)>();
        var request = new JsonArray();
        for (int i = 0; i < Count; i++)
        {
            var tx = gen.Eip1559();
            byte[] key = gen.KeyBytes();
            txs.Add((tx, key));
            var access = new JsonArray();
            foreach (var item in tx.AccessList)
            {
                var keys = new JsonArray();
                foreach (var k in item.StorageKeys) keys.Add(k.ToString());
                access.Add(new JsonObject { ["address"] = item.Address.ToLowerHex(), ["storageKeys"] = keys });
            }
            request.Add(new JsonObject
            {
                ["key"] = Hex.Encode(key),
                ["chainId"] = tx.ChainId.ToString(),
                ["nonce"] = tx.Nonce.ToString(),
                ["maxPriorityFeePerGas"] = tx.MaxPriorityFeePerGas.ToString(),
                ["maxFeePerGas"] = tx.MaxFeePerGas.ToString(),
                ["gasLimit"] = tx.GasLimit.ToString(),
                ["to"] = tx.To?.ToLowerHex(),
                ["value"] = tx.Value.ToString(),
                ["data"] = Hex.Encode(tx.Data.Span),
                ["accessList"] = access,
            });
        }

        using var response = NodeScript.Run(Path.Combine("Transactions", "ethers_sign.cjs"),
            new JsonObject { ["txs"] = request }.ToJsonString(), TimeSpan.FromMinutes(2));
        var results = response.RootElement.GetProperty("results");
        Assert.Equal(Count, results.GetArrayLength());

        for (int i = 0; i < Count; i++)
        {
            string where = $"(seed {seed}, tx {i}; rerun with CROSSMARGIN_TX_SEED={seed})";
            var expected = results[i];
            var (tx, keyBytes) = txs[i];
            using var key = new PrivateKey(keyBytes);
            Assert.True(expected.GetProperty("address").GetString() == key.Address.ToLowerHex(), "address differs " + where);
            Assert.True(expected.GetProperty("unsignedHash").GetString() == tx.GetSigningHash().ToString(), "signing hash differs " + where);

            var signed = TransactionEncoder.Sign(tx, key);
            Assert.True(expected.GetProperty("raw").GetString() == signed.ToRawHex(), $"raw differs {where}\nethers {expected.GetProperty("raw").GetString()}\nours   {signed.ToRawHex()}");
            Assert.True(expected.GetProperty("hash").GetString() == signed.Hash.ToString(), "tx hash differs " + where);

            // and our decoder reads ethers' bytes back to the same transaction and sender
            var decoded = TransactionDecoder.Decode(Hex.Decode(expected.GetProperty("raw").GetString()));
            Assert.True(decoded.Sender == key.Address, "decoded sender differs " + where);
            Assert.True(decoded.Hash == signed.Hash, "decoded hash differs " + where);
            Assert.True(expected.GetProperty("from").GetString() == decoded.Sender.ToLowerHex(), "ethers sender differs " + where);
        }
    }

    [Fact]
    public async Task Local_signer_signs_through_the_seam()
    {
        var gen = new RandomTransactions(Seed + 1);
        using var signer = new LocalTxSigner(new PrivateKey(gen.KeyBytes()), ownsKey: true);
        ITxSigner seam = signer;
        var tx = gen.Eip1559();
        var signed = await seam.SignAsync(tx);
        Assert.Equal(seam.Address, signed.Sender);
        Assert.Equal(signed.Hash, TransactionDecoder.Decode(signed.Raw).Hash);
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await seam.SignAsync(tx, cts.Token));
    }
}
