using CrossMargin.Ethereum.Numerics;

namespace CrossMargin.Ethereum.Transactions;

/// <summary>Transaction envelope types.</summary>
public enum TxType : byte
{
    /// <summary>Untyped legacy transaction (EIP-155 replay protection when ChainId &gt; 0).</summary>
    Legacy = 0,

    /// <summary>EIP-2930 access-list transaction (0x01).</summary>
    AccessList = 1,

    /// <summary>EIP-1559 dynamic-fee transaction (0x02).</summary>
    DynamicFee = 2,
}

/// <summary>One access-list entry: an address and the storage slots the transaction will touch.</summary>
public sealed class AccessListItem
{
    public AccessListItem(Address address, IReadOnlyList<Hash32>? storageKeys = null)
    {
        Address = address;
        StorageKeys = storageKeys ?? [];
    }

    public Address Address { get; }

    public IReadOnlyList<Hash32> StorageKeys { get; }
}

/// <summary>
/// A transaction before signing. Which fee fields apply depends on <see cref="Type"/>: legacy and
/// EIP-2930 use <see cref="GasPrice"/>, EIP-1559 uses <see cref="MaxPriorityFeePerGas"/> and
/// <see cref="MaxFeePerGas"/>. For legacy, <see cref="ChainId"/> 0 means an unprotected (pre-EIP-155)
/// transaction.
/// </summary>
public sealed class UnsignedTransaction
{
    private static readonly IReadOnlyList<AccessListItem> EmptyAccessList = [];

    public TxType Type { get; init; } = TxType.DynamicFee;

    public ulong ChainId { get; init; }

    public ulong Nonce { get; init; }

    /// <summary>Legacy and EIP-2930 only.</summary>
    public UInt256 GasPrice { get; init; }

    /// <summary>EIP-1559 only.</summary>
    public UInt256 MaxPriorityFeePerGas { get; init; }

    /// <summary>EIP-1559 only.</summary>
    public UInt256 MaxFeePerGas { get; init; }

    public ulong GasLimit { get; init; }

    /// <summary>The recipient, or null to create a contract.</summary>
    public Address? To { get; init; }

    public UInt256 Value { get; init; }

    public ReadOnlyMemory<byte> Data { get; init; }

    /// <summary>EIP-2930 and EIP-1559 only.</summary>
    public IReadOnlyList<AccessListItem> AccessList { get; init; } = EmptyAccessList;

    /// <summary>An EIP-1559 transaction.</summary>
    public static UnsignedTransaction Eip1559(
        ulong chainId, ulong nonce, UInt256 maxPriorityFeePerGas, UInt256 maxFeePerGas, ulong gasLimit,
        Address? to, UInt256 value, ReadOnlyMemory<byte> data = default, IReadOnlyList<AccessListItem>? accessList = null) => new()
        {
            Type = TxType.DynamicFee,
            ChainId = chainId,
            Nonce = nonce,
            MaxPriorityFeePerGas = maxPriorityFeePerGas,
            MaxFeePerGas = maxFeePerGas,
            GasLimit = gasLimit,
            To = to,
            Value = value,
            Data = data,
            AccessList = accessList ?? EmptyAccessList,
        };

    /// <summary>A legacy transaction; <paramref name="chainId"/> 0 signs without EIP-155 replay protection.</summary>
    public static UnsignedTransaction Legacy(
        ulong chainId, ulong nonce, UInt256 gasPrice, ulong gasLimit, Address? to, UInt256 value, ReadOnlyMemory<byte> data = default) => new()
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

    /// <summary>The bytes whose Keccak-256 is signed.</summary>
    public byte[] EncodeForSigning() => TransactionEncoder.EncodeForSigning(this);

    /// <summary>Keccak-256 of <see cref="EncodeForSigning"/>.</summary>
    public Hash32 GetSigningHash() => TransactionEncoder.SigningHash(this);
}
