using CrossMargin.Ethereum.Signing;

namespace CrossMargin.Ethereum.Transactions;

/// <summary>A signed transaction: its fields, signature, network encoding, hash and sender.</summary>
public sealed class SignedTransaction
{
    private readonly byte[] _raw;

    internal SignedTransaction(UnsignedTransaction transaction, EcdsaSignature signature, byte[] raw, Hash32 hash, Address sender)
    {
        Transaction = transaction;
        Signature = signature;
        _raw = raw;
        Hash = hash;
        Sender = sender;
    }

    public UnsignedTransaction Transaction { get; }

    /// <summary>r, s and y parity (bit 0 of the recovery id).</summary>
    public EcdsaSignature Signature { get; }

    /// <summary>The network encoding (eth_sendRawTransaction): <c>type || rlp(...)</c>, or <c>rlp(...)</c> for legacy.</summary>
    public ReadOnlySpan<byte> Raw => _raw;

    /// <summary>A copy of <see cref="Raw"/>.</summary>
    public byte[] ToArray() => (byte[])_raw.Clone();

    /// <summary>Keccak-256 of the raw encoding.</summary>
    public Hash32 Hash { get; }

    /// <summary>The address the signature recovers to.</summary>
    public Address Sender { get; }

    /// <summary>The legacy v value (27/28, or 35 + 2·chainId + y parity); for typed transactions the y parity.</summary>
    public ulong V => Transaction.Type switch
    {
        TxType.Legacy when Transaction.ChainId == 0 => 27UL + Signature.YParity,
        TxType.Legacy => 35UL + (2 * Transaction.ChainId) + Signature.YParity,
        _ => Signature.YParity,
    };

    /// <summary>The raw encoding as 0x-hex.</summary>
    public string ToRawHex() => Hex.Encode(_raw);

    public override string ToString() => $"{Transaction.Type} tx {Hash} from {Sender}";
}
