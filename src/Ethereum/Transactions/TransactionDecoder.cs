using CrossMargin.Ethereum.Crypto;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Ethereum.Rlp;
using CrossMargin.Ethereum.Signing;

namespace CrossMargin.Ethereum.Transactions;

/// <summary>
/// Strict decoder for signed network encodings (legacy, EIP-2930, EIP-1559). Structure errors throw
/// <see cref="RlpDecodingException"/>; signatures that are out of range, high-s, or do not recover
/// throw <see cref="SignatureException"/>.
/// </summary>
public static class TransactionDecoder
{
    /// <summary>Decodes a signed transaction and recovers its sender.</summary>
    public static SignedTransaction Decode(ReadOnlySpan<byte> raw)
    {
        if (raw.IsEmpty) throw new RlpDecodingException(RlpErrorReason.UnexpectedEnd, 0, "Empty transaction.");
        byte first = raw[0];
        UnsignedTransaction tx;
        UInt256 r, s;
        byte yParity;
        if (first >= 0xc0)
        {
            tx = DecodeLegacy(raw, out r, out s, out yParity);
        }
        else if (first is (byte)TxType.AccessList or (byte)TxType.DynamicFee)
        {
            tx = DecodeTyped((TxType)first, raw[1..], out r, out s, out yParity);
        }
        else
        {
            throw new RlpDecodingException(RlpErrorReason.InvalidValue, 0, $"Unsupported transaction type byte 0x{first:x2}.");
        }

        Hash32 signingHash = TransactionEncoder.SigningHash(tx);
        Address sender = Ecdsa.EcRecover(signingHash, r, s, yParity, requireLowS: true);
        return new SignedTransaction(tx, new EcdsaSignature(r, s, yParity), raw.ToArray(), Keccak256.Compute(raw), sender);
    }

    private static UnsignedTransaction DecodeLegacy(ReadOnlySpan<byte> raw, out UInt256 r, out UInt256 s, out byte yParity)
    {
        var reader = new RlpReader(raw);
        var list = reader.ReadList();
        ulong nonce = list.ReadULong();
        UInt256 gasPrice = list.ReadUInt256();
        ulong gasLimit = list.ReadULong();
        Address? to = list.ReadOptionalAddress();
        UInt256 value = list.ReadUInt256();
        byte[] data = list.ReadBytes().ToArray();
        int vAt = list.Position;
        ulong v = list.ReadULong();
        r = list.ReadUInt256();
        s = list.ReadUInt256();
        list.EnsureEnd();
        reader.EnsureEnd();

        ulong chainId;
        if (v is 27 or 28)
        {
            chainId = 0;
            yParity = (byte)(v - 27);
        }
        else if (v >= 37)
        {
            chainId = (v - 35) / 2;
            yParity = (byte)((v - 35) & 1);
        }
        else
        {
            throw new RlpDecodingException(RlpErrorReason.InvalidValue, vAt, $"Legacy v {v} is neither 27/28 nor an EIP-155 value for a non-zero chain id.");
        }
        return new UnsignedTransaction
        {
            Type = TxType.Legacy,
            ChainId = chainId,
            Nonce = nonce,
            GasPrice = gasPrice,
            GasLimit = gasLimit,
            To = to,
            Value = value,
            Data = data,
        };
    }

    private static UnsignedTransaction DecodeTyped(TxType type, ReadOnlySpan<byte> payload, out UInt256 r, out UInt256 s, out byte yParity)
    {
        var reader = new RlpReader(payload, baseOffset: 1);
        var list = reader.ReadList();
        ulong chainId = list.ReadULong();
        ulong nonce = list.ReadULong();
        UInt256 gasPrice = default, maxPriority = default, maxFee = default;
        if (type == TxType.AccessList)
        {
            gasPrice = list.ReadUInt256();
        }
        else
        {
            maxPriority = list.ReadUInt256();
            maxFee = list.ReadUInt256();
        }
        ulong gasLimit = list.ReadULong();
        Address? to = list.ReadOptionalAddress();
        UInt256 value = list.ReadUInt256();
        byte[] data = list.ReadBytes().ToArray();
        var accessList = ReadAccessList(ref list);
        int yAt = list.Position;
        ulong y = list.ReadULong();
        if (y > 1) throw new RlpDecodingException(RlpErrorReason.InvalidValue, yAt, "y parity must be 0 or 1.");
        yParity = (byte)y;
        r = list.ReadUInt256();
        s = list.ReadUInt256();
        list.EnsureEnd();
        reader.EnsureEnd();
        return new UnsignedTransaction
        {
            Type = type,
            ChainId = chainId,
            Nonce = nonce,
            GasPrice = gasPrice,
            MaxPriorityFeePerGas = maxPriority,
            MaxFeePerGas = maxFee,
            GasLimit = gasLimit,
            To = to,
            Value = value,
            Data = data,
            AccessList = accessList,
        };
    }

    private static AccessListItem[] ReadAccessList(ref RlpReader reader)
    {
        var list = reader.ReadList();
        if (!list.HasMore) return [];
        var items = new List<AccessListItem>();
        while (list.HasMore)
        {
            var entry = list.ReadList();
            Address address = entry.ReadAddress();
            var keysReader = entry.ReadList();
            // each key takes 33 bytes, so the count is bounded by the input size
            var keys = new List<Hash32>(keysReader.Remaining / RlpEncoding.Hash32Length);
            while (keysReader.HasMore) keys.Add(keysReader.ReadHash32());
            entry.EnsureEnd();
            items.Add(new AccessListItem(address, keys.ToArray()));
        }
        return items.ToArray();
    }
}
