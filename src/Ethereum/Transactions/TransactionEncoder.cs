using System.Buffers;
using CrossMargin.Ethereum.Crypto;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Ethereum.Rlp;
using CrossMargin.Ethereum.Signing;

namespace CrossMargin.Ethereum.Transactions;

/// <summary>
/// Exact-size encoding of transactions for signing and for the network (two passes: length, then write),
/// and signing with a post-signature recovery check.
/// </summary>
public static class TransactionEncoder
{
    private const int StackLimit = 1024;

    /// <summary>Largest chain id a legacy transaction can carry here (v = 35 + 2·chainId + 1 must fit 64 bits).</summary>
    public const ulong MaxLegacyChainId = (ulong.MaxValue - 36) / 2;

    // ------------------------------------------------------------------ lengths

    private static int AccessListPayloadLength(IReadOnlyList<AccessListItem> list)
    {
        int sum = 0;
        for (int i = 0; i < list.Count; i++)
        {
            int keys = checked(list[i].StorageKeys.Count * RlpEncoding.Hash32Length);
            sum = checked(sum + RlpEncoding.LengthOfList(RlpEncoding.AddressLength + RlpEncoding.LengthOfList(keys)));
        }
        return sum;
    }

    /// <summary>Length of the common fields (everything before the signature or the EIP-155 suffix).</summary>
    private static int FieldsLength(UnsignedTransaction tx)
    {
        int len = RlpEncoding.LengthOf(tx.Nonce)
            + RlpEncoding.LengthOf(tx.GasLimit)
            + (tx.To is null ? 1 : RlpEncoding.AddressLength)
            + RlpEncoding.LengthOf(tx.Value)
            + RlpEncoding.LengthOf(tx.Data.Span);
        switch (tx.Type)
        {
            case TxType.Legacy:
                return len + RlpEncoding.LengthOf(tx.GasPrice);
            case TxType.AccessList:
                return checked(len + RlpEncoding.LengthOf(tx.ChainId) + RlpEncoding.LengthOf(tx.GasPrice) + RlpEncoding.LengthOfList(AccessListPayloadLength(tx.AccessList)));
            case TxType.DynamicFee:
                return checked(len + RlpEncoding.LengthOf(tx.ChainId) + RlpEncoding.LengthOf(tx.MaxPriorityFeePerGas) + RlpEncoding.LengthOf(tx.MaxFeePerGas)
                    + RlpEncoding.LengthOfList(AccessListPayloadLength(tx.AccessList)));
            default:
                throw new ArgumentException($"Unsupported transaction type {tx.Type}.", nameof(tx));
        }
    }

    private static void WriteFields(ref RlpWriter w, UnsignedTransaction tx)
    {
        if (tx.Type == TxType.Legacy)
        {
            w.WriteULong(tx.Nonce);
            w.WriteUInt256(tx.GasPrice);
        }
        else
        {
            w.WriteULong(tx.ChainId);
            w.WriteULong(tx.Nonce);
            if (tx.Type == TxType.AccessList)
            {
                w.WriteUInt256(tx.GasPrice);
            }
            else
            {
                w.WriteUInt256(tx.MaxPriorityFeePerGas);
                w.WriteUInt256(tx.MaxFeePerGas);
            }
        }
        w.WriteULong(tx.GasLimit);
        w.WriteOptionalAddress(tx.To);
        w.WriteUInt256(tx.Value);
        w.WriteBytes(tx.Data.Span);
        if (tx.Type != TxType.Legacy)
        {
            var list = tx.AccessList;
            w.WriteListHeader(AccessListPayloadLength(list));
            for (int i = 0; i < list.Count; i++)
            {
                var keys = list[i].StorageKeys;
                int keysLen = keys.Count * RlpEncoding.Hash32Length;
                w.WriteListHeader(RlpEncoding.AddressLength + RlpEncoding.LengthOfList(keysLen));
                w.WriteAddress(list[i].Address);
                w.WriteListHeader(keysLen);
                for (int k = 0; k < keys.Count; k++) w.WriteHash32(keys[k]);
            }
        }
    }

    private static void CheckLegacyChainId(UnsignedTransaction tx)
    {
        if (tx.Type == TxType.Legacy && tx.ChainId > MaxLegacyChainId)
            throw new ArgumentException("Legacy chain id too large for a 64-bit v.", nameof(tx));
    }

    // ------------------------------------------------------------------ signing payload

    /// <summary>Exact length of the signing payload.</summary>
    public static int SigningPayloadLength(UnsignedTransaction tx)
    {
        CheckLegacyChainId(tx);
        int fields = FieldsLength(tx);
        if (tx.Type == TxType.Legacy)
        {
            if (tx.ChainId != 0) fields += RlpEncoding.LengthOf(tx.ChainId) + 2;
            return RlpEncoding.LengthOfList(fields);
        }
        return 1 + RlpEncoding.LengthOfList(fields);
    }

    /// <summary>Writes the signing payload into a span of exactly <see cref="SigningPayloadLength"/> bytes.</summary>
    public static void WriteSigningPayload(UnsignedTransaction tx, Span<byte> destination)
    {
        CheckLegacyChainId(tx);
        var w = new RlpWriter(destination);
        int fields = FieldsLength(tx);
        if (tx.Type == TxType.Legacy)
        {
            bool eip155 = tx.ChainId != 0;
            w.WriteListHeader(eip155 ? fields + RlpEncoding.LengthOf(tx.ChainId) + 2 : fields);
            WriteFields(ref w, tx);
            if (eip155)
            {
                w.WriteULong(tx.ChainId);
                w.WriteULong(0);
                w.WriteULong(0);
            }
        }
        else
        {
            w.WriteRaw([(byte)tx.Type]);
            w.WriteListHeader(fields);
            WriteFields(ref w, tx);
        }
        w.EnsureComplete();
    }

    /// <summary>The signing payload in a new array.</summary>
    public static byte[] EncodeForSigning(UnsignedTransaction tx)
    {
        var result = new byte[SigningPayloadLength(tx)];
        WriteSigningPayload(tx, result);
        return result;
    }

    /// <summary>Keccak-256 of the signing payload (no heap allocation for payloads up to 1 KiB).</summary>
    public static Hash32 SigningHash(UnsignedTransaction tx)
    {
        int len = SigningPayloadLength(tx);
        byte[]? rented = null;
        Span<byte> buffer = len <= StackLimit ? stackalloc byte[StackLimit] : (rented = ArrayPool<byte>.Shared.Rent(len));
        try
        {
            var payload = buffer[..len];
            WriteSigningPayload(tx, payload);
            return Keccak256.Compute(payload);
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
    }

    // ------------------------------------------------------------------ signed encoding

    private static ulong LegacyV(UnsignedTransaction tx, byte yParity) =>
        tx.ChainId == 0 ? 27UL + yParity : 35UL + (2 * tx.ChainId) + yParity;

    /// <summary>Exact length of the signed network encoding.</summary>
    public static int SignedLength(UnsignedTransaction tx, EcdsaSignature signature)
    {
        CheckLegacyChainId(tx);
        int fields = FieldsLength(tx) + RlpEncoding.LengthOf(signature.R) + RlpEncoding.LengthOf(signature.S);
        if (tx.Type == TxType.Legacy) return RlpEncoding.LengthOfList(fields + RlpEncoding.LengthOf(LegacyV(tx, signature.YParity)));
        return 1 + RlpEncoding.LengthOfList(fields + 1);
    }

    /// <summary>Writes the signed network encoding into a span of exactly <see cref="SignedLength"/> bytes.</summary>
    public static void WriteSigned(UnsignedTransaction tx, EcdsaSignature signature, Span<byte> destination)
    {
        CheckLegacyChainId(tx);
        var w = new RlpWriter(destination);
        int fields = FieldsLength(tx) + RlpEncoding.LengthOf(signature.R) + RlpEncoding.LengthOf(signature.S);
        if (tx.Type == TxType.Legacy)
        {
            ulong v = LegacyV(tx, signature.YParity);
            w.WriteListHeader(fields + RlpEncoding.LengthOf(v));
            WriteFields(ref w, tx);
            w.WriteULong(v);
        }
        else
        {
            w.WriteRaw([(byte)tx.Type]);
            w.WriteListHeader(fields + 1);
            WriteFields(ref w, tx);
            w.WriteULong(signature.YParity);
        }
        w.WriteUInt256(signature.R);
        w.WriteUInt256(signature.S);
        w.EnsureComplete();
    }

    /// <summary>The signed network encoding in a new array.</summary>
    public static byte[] EncodeSigned(UnsignedTransaction tx, EcdsaSignature signature)
    {
        var result = new byte[SignedLength(tx, signature)];
        WriteSigned(tx, signature, result);
        return result;
    }

    /// <summary>
    /// Signs: hash, sign (RFC 6979, low s), encode, then recover the sender from the new signature and
    /// throw <see cref="SignatureException"/> unless it is the key's address.
    /// </summary>
    public static SignedTransaction Sign(UnsignedTransaction tx, PrivateKey key)
    {
        ArgumentNullException.ThrowIfNull(tx);
        ArgumentNullException.ThrowIfNull(key);
        Hash32 signingHash = SigningHash(tx);
        var signature = key.Sign(signingHash);
        if (!Ecdsa.TryEcRecover(signingHash, signature.R, signature.S, signature.YParity, out var sender) || sender != key.Address)
            throw new SignatureException(SignatureError.SelfCheckFailed, Ecdsa.Describe(SignatureError.SelfCheckFailed));
        byte[] raw = EncodeSigned(tx, signature);
        return new SignedTransaction(tx, signature, raw, Keccak256.Compute(raw), sender);
    }

}
