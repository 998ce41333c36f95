using CrossMargin.Ethereum.Numerics;

namespace CrossMargin.Ethereum.Contracts;

/// <summary>Decodes the return data of a call.</summary>
public delegate T AbiResultDecoder<out T>(ReadOnlySpan<byte> returnData);

/// <summary>
/// A read-only contract call, ready for eth_call (alone or in a batch): target, calldata and the decoder of
/// its return data. Generated bindings create these; the RPC client executes them.
/// </summary>
public sealed class ContractCall<T>
{
    public ContractCall(Address to, byte[] data, AbiResultDecoder<T> decode, string signature)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(decode);
        To = to;
        Data = data;
        Decode = decode;
        Signature = signature;
    }

    public Address To { get; }

    /// <summary>Selector and ABI-encoded arguments.</summary>
    public byte[] Data { get; }

    public AbiResultDecoder<T> Decode { get; }

    /// <summary>The Solidity signature, for logs and errors.</summary>
    public string Signature { get; }

    public override string ToString() => $"{Signature} @ {To}";
}

/// <summary>A state-changing contract call: what a transaction carries before nonce, gas and fees are chosen.</summary>
public readonly record struct ContractTx(Address To, byte[] Data, UInt256 Value, string Signature)
{
    public override string ToString() => $"{Signature} @ {To}";
}

/// <summary>The return type of calls that return nothing.</summary>
public readonly record struct NoResult
{
    /// <summary>Accepts only empty return data.</summary>
    public static NoResult Decode(ReadOnlySpan<byte> returnData)
    {
        if (!returnData.IsEmpty)
            throw new Abi.AbiDecodingException(Abi.AbiDecodingError.TrailingData, $"Expected no return data, got {returnData.Length} bytes", 0);
        return default;
    }
}

/// <summary>A decoded custom error of a contract (generated bindings derive one record per Solidity error).</summary>
public abstract record ContractError
{
    /// <summary>The Solidity error name.</summary>
    public abstract string ErrorName { get; }
}
