using System.Numerics;
using System.Text.Json;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Ethereum.Rlp;
using CrossMargin.Ethereum.Signing;
using CrossMargin.Ethereum.Transactions;

namespace CrossMargin.Ethereum.Tests.Transactions;

public class TxVectorTests
{
    private static JsonElement Group(JsonDocument doc, string name) => doc.RootElement.GetProperty(name);

    private static UInt256 Num(JsonElement e) => e.ValueKind == JsonValueKind.Number
        ? new UInt256(e.GetUInt64())
        : (UInt256)BigInteger.Parse(e.GetString()!);

    private static UInt256 HexWord(string hex) => UInt256.ReadBigEndian(Hex.Decode(hex));

    public static TheoryData<int> Eip1559Indexes() => Indexes("eip1559");

    public static TheoryData<int> LegacyRecoverIndexes() => Indexes("legacy_recover");

    public static TheoryData<int> Eip2930Indexes() => Indexes("eip2930_access_list_hash");

    private static TheoryData<int> Indexes(string group)
    {
        using var doc = SharedVectors.Load("tx_signing.json");
        var data = new TheoryData<int>();
        for (int i = 0; i < Group(doc, group).GetArrayLength(); i++) data.Add(i);
        return data;
    }

    [Fact]
    public void Eip155_spec_example()
    {
        using var doc = SharedVectors.Load("tx_signing.json");
        var v = Group(doc, "eip155")[0];
        var t = v.GetProperty("tx");
        var tx = UnsignedTransaction.Legacy(
            t.GetProperty("chainId").GetUInt64(), t.GetProperty("nonce").GetUInt64(), Num(t.GetProperty("gasPrice")),
            t.GetProperty("gasLimit").GetUInt64(), Address.Parse(t.GetProperty("to").GetString()), Num(t.GetProperty("value")),
            Hex.Decode(t.GetProperty("data").GetString()));

        Assert.Equal(v.GetProperty("signingData").GetString(), Hex.Encode(tx.EncodeForSigning()));
        Assert.Equal(v.GetProperty("signingHash").GetString(), tx.GetSigningHash().ToString());

        using var key = PrivateKey.FromHex(v.GetProperty("privateKey").GetString());
        Assert.Equal(v.GetProperty("senderAddress").GetString(), key.Address.ToLowerHex());
        var signed = TransactionEncoder.Sign(tx, key);
        Assert.Equal((ulong)v.GetProperty("v").GetInt32(), signed.V);
        Assert.Equal(Num(v.GetProperty("r")), signed.Signature.R);
        Assert.Equal(Num(v.GetProperty("s")), signed.Signature.S);
        Assert.Equal(v.GetProperty("signedTx").GetString(), signed.ToRawHex());
        Assert.Equal(v.GetProperty("txHash_derived").GetString(), signed.Hash.ToString());

        var decoded = TransactionDecoder.Decode(Hex.Decode(v.GetProperty("signedTx").GetString()));
        Assert.Equal(key.Address, decoded.Sender);
        Assert.Equal(signed.Hash, decoded.Hash);
        Assert.Equal(1UL, decoded.Transaction.ChainId);
    }

    private static UnsignedTransaction Eip1559FromJson(JsonElement t)
    {
        var to = t.GetProperty("to");
        return UnsignedTransaction.Eip1559(
            t.GetProperty("chainId").GetUInt64(), t.GetProperty("nonce").GetUInt64(),
            Num(t.GetProperty("maxPriorityFeePerGas")), Num(t.GetProperty("maxFeePerGas")), t.GetProperty("gasLimit").GetUInt64(),
            to.ValueKind == JsonValueKind.Null ? null : Address.Parse(to.GetString()), Num(t.GetProperty("value")),
            Hex.Decode(t.GetProperty("data").GetString()));
    }

    [Theory]
    [MemberData(nameof(Eip1559Indexes))]
    public void Eip1559_signs_byte_for_byte(int index)
    {
        using var doc = SharedVectors.Load("tx_signing.json");
        var v = Group(doc, "eip1559")[index];
        Assert.Equal(0, v.GetProperty("tx").GetProperty("accessList").GetArrayLength());
        var tx = Eip1559FromJson(v.GetProperty("tx"));
        Assert.Equal(v.GetProperty("unsignedPayload_derived").GetString(), Hex.Encode(tx.EncodeForSigning()));
        Assert.Equal(v.GetProperty("signingHash_derived").GetString(), tx.GetSigningHash().ToString());

        using var key = PrivateKey.FromHex(v.GetProperty("privateKey").GetString());
        Assert.Equal(v.GetProperty("senderAddress").GetString(), key.Address.ToLowerHex());
        var signed = TransactionEncoder.Sign(tx, key);
        Assert.Equal(v.GetProperty("yParity").GetInt32(), signed.Signature.YParity);
        Assert.Equal(HexWord(v.GetProperty("r").GetString()!), signed.Signature.R);
        Assert.Equal(HexWord(v.GetProperty("s").GetString()!), signed.Signature.S);
        Assert.Equal(v.GetProperty("signedTx").GetString(), signed.ToRawHex());
        Assert.Equal(v.GetProperty("txHash_derived").GetString(), signed.Hash.ToString());
        Assert.Equal(key.Address, signed.Sender);
    }

    [Theory]
    [MemberData(nameof(Eip1559Indexes))]
    public void Eip1559_decodes_and_recovers(int index)
    {
        using var doc = SharedVectors.Load("tx_signing.json");
        var v = Group(doc, "eip1559")[index];
        byte[] raw = Hex.Decode(v.GetProperty("signedTx").GetString());
        var decoded = TransactionDecoder.Decode(raw);
        Assert.Equal(v.GetProperty("senderAddress").GetString(), decoded.Sender.ToLowerHex());
        Assert.Equal(v.GetProperty("txHash_derived").GetString(), decoded.Hash.ToString());
        var expected = Eip1559FromJson(v.GetProperty("tx"));
        Assert.Equal(TxType.DynamicFee, decoded.Transaction.Type);
        Assert.Equal(Hex.Encode(expected.EncodeForSigning()), Hex.Encode(decoded.Transaction.EncodeForSigning()));
        Assert.Equal(expected.To, decoded.Transaction.To);
        Assert.Equal(raw, TransactionEncoder.EncodeSigned(decoded.Transaction, decoded.Signature));
    }

    [Theory]
    [MemberData(nameof(LegacyRecoverIndexes))]
    public void Legacy_geth_vectors_recover_sender_and_hash(int index)
    {
        using var doc = SharedVectors.Load("tx_signing.json");
        var v = Group(doc, "legacy_recover")[index];
        byte[] raw = Hex.Decode(v.GetProperty("signedTx").GetString());
        var decoded = TransactionDecoder.Decode(raw);
        Assert.Equal(v.GetProperty("expectedSender").GetString(), decoded.Sender.ToLowerHex());
        var hash = v.GetProperty("expectedHash");
        if (hash.ValueKind != JsonValueKind.Null) Assert.Equal(hash.GetString(), decoded.Hash.ToString());
        else Assert.Equal(Crypto.Keccak256.Compute(raw), decoded.Hash); // vector gives no hash: the hash is keccak of the raw bytes
        var chain = v.GetProperty("chainId");
        Assert.Equal(chain.ValueKind == JsonValueKind.Null ? 0UL : chain.GetUInt64(), decoded.Transaction.ChainId);
        Assert.Equal(raw, TransactionEncoder.EncodeSigned(decoded.Transaction, decoded.Signature));
    }

    [Theory]
    [MemberData(nameof(Eip2930Indexes))]
    public void Eip2930_hash_sender_and_reencoding(int index)
    {
        using var doc = SharedVectors.Load("tx_signing.json");
        var v = Group(doc, "eip2930_access_list_hash")[index];
        byte[] raw = Hex.Decode(v.GetProperty("rawTx").GetString());
        var decoded = TransactionDecoder.Decode(raw);
        Assert.Equal(TxType.AccessList, decoded.Transaction.Type);
        Assert.Equal(v.GetProperty("txHash").GetString(), decoded.Hash.ToString());
        Assert.Equal(Hex.ParseQuantity(v.GetProperty("chainId_hex").GetString()), decoded.Transaction.ChainId);
        Assert.Equal(v.GetProperty("sender_derived").GetString(), decoded.Sender.ToLowerHex());
        Assert.Equal(raw, TransactionEncoder.EncodeSigned(decoded.Transaction, decoded.Signature));
    }

    [Fact]
    public void Eip1559_with_00_prefixed_fee_is_rejected()
    {
        using var doc = SharedVectors.Load("tx_signing.json");
        foreach (var v in Group(doc, "eip1559_decode_must_reject").EnumerateArray())
        {
            byte[] raw = Hex.Decode(v.GetProperty("txbytes").GetString());
            var ex = Assert.Throws<RlpDecodingException>(() => TransactionDecoder.Decode(raw));
            Assert.Equal(RlpErrorReason.NonCanonicalInteger, ex.Reason);
            // the position points at the offending field in the raw bytes (type byte included)
            Assert.Equal(0xa1, raw[ex.Position]);
        }
    }

    [Fact]
    public void Eip1559_with_32_byte_fee_is_accepted()
    {
        using var doc = SharedVectors.Load("tx_signing.json");
        foreach (var v in Group(doc, "eip1559_decode_valid_structure").EnumerateArray())
        {
            byte[] raw = Hex.Decode(v.GetProperty("txbytes").GetString());
            var decoded = TransactionDecoder.Decode(raw);
            Assert.Equal(UInt256.MaxValue, decoded.Transaction.MaxPriorityFeePerGas);
            Assert.Equal(v.GetProperty("sender_derived").GetString(), decoded.Sender.ToLowerHex());
            Assert.Equal(raw, TransactionEncoder.EncodeSigned(decoded.Transaction, decoded.Signature));
        }
    }
}
