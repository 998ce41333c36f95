using System.Buffers.Binary;
using CrossMargin.Ethereum.Abi;
using CrossMargin.Ethereum.Crypto;
using CrossMargin.Ethereum.Numerics;

namespace CrossMargin.Ethereum.Contracts;

/// <summary>Small runtime helpers the generated bindings call.</summary>
public static class BindingSupport
{
    /// <summary>The 4-byte selector of a canonical function or error signature, as a big-endian uint.</summary>
    public static uint Selector(string signature)
    {
        Span<byte> h = stackalloc byte[32];
        Keccak256.ComputeUtf8(signature).CopyTo(h);
        return BinaryPrimitives.ReadUInt32BigEndian(h);
    }

    /// <summary>topic0 of an event signature.</summary>
    public static Hash32 Topic(string signature) => Keccak256.ComputeUtf8(signature);

    /// <summary>Rejects a uintN argument wider than N bits.</summary>
    public static void CheckUIntBits(UInt256 value, int bits)
    {
        if (value.BitLength > bits) throw new AbiEncodingException($"Value {value} does not fit in uint{bits}.");
    }

    /// <summary>Rejects an intN argument outside [-2^(N-1), 2^(N-1)).</summary>
    public static void CheckIntBits(Int256 value, int bits)
    {
        var big = (System.Numerics.BigInteger)value;
        var limit = System.Numerics.BigInteger.One << (bits - 1);
        if (big >= limit || big < -limit) throw new AbiEncodingException($"Value {value} does not fit in int{bits}.");
    }

    /// <summary>Rejects a bytesN or T[k] argument of the wrong length.</summary>
    public static void CheckLength<T>(T[] value, int length)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.Length != length) throw new AbiEncodingException($"Expected {length} elements, got {value.Length}.");
    }
}
