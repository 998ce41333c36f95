using CrossMargin.Ethereum.Numerics;
using CrossMargin.Ethereum.Signing;
using CrossMargin.Ethereum.Transactions;

namespace CrossMargin.Ethereum.Tests.Transactions;

/// <summary>Seeded generator of varied transactions (edge widths, contract creation, access lists, big values).</summary>
internal sealed class RandomTransactions(int seed)
{
    private readonly Random _rng = new(seed);

    public int Seed { get; } = seed;

    public UInt256 Word()
    {
        int width = _rng.Next(5) switch { 0 => 0, 1 => 1, 2 => _rng.Next(2, 9), 3 => _rng.Next(9, 32), _ => 32 };
        var b = new byte[32];
        _rng.NextBytes(b.AsSpan(32 - width));
        return UInt256.ReadBigEndian(b);
    }

    public ulong ULong(int maxBits = 64)
    {
        int bits = _rng.Next(maxBits + 1);
        ulong v = (ulong)_rng.NextInt64() ^ ((ulong)_rng.NextInt64() << 1);
        return bits == 0 ? 0 : v >> (64 - bits);
    }

    public byte[] Bytes(int maxLength)
    {
        int len = _rng.Next(4) switch { 0 => 0, 1 => 1, 2 => _rng.Next(2, 56), _ => _rng.Next(56, maxLength + 1) };
        var b = new byte[len];
        _rng.NextBytes(b);
        if (len == 1 && _rng.Next(2) == 0) b[0] &= 0x7f; // exercise the single-byte form
        return b;
    }

    public Address Address()
    {
        var b = new byte[20];
        _rng.NextBytes(b);
        return new Address(b);
    }

    public byte[] KeyBytes()
    {
        var b = new byte[32];
        while (true)
        {
            _rng.NextBytes(b);
            var k = UInt256.ReadBigEndian(b);
            if (!k.IsZero && k < Ecdsa.CurveOrder) return b;
        }
    }

    public IReadOnlyList<AccessListItem> AccessList()
    {
        int count = _rng.Next(3) == 0 ? _rng.Next(1, 4) : 0;
        var items = new AccessListItem[count];
        for (int i = 0; i < count; i++)
        {
            var keys = new Hash32[_rng.Next(4)];
            var kb = new byte[32];
            for (int k = 0; k < keys.Length; k++)
            {
                _rng.NextBytes(kb);
                keys[k] = new Hash32(kb);
            }
            items[i] = new AccessListItem(Address(), keys);
        }
        return items;
    }

    /// <summary>An EIP-1559 transaction; nonce stays below 2^53 (ethers keeps nonces as JS numbers).</summary>
    /// <remarks>Priority fee ≤ max fee, as ethers insists.</remarks>
    public UnsignedTransaction Eip1559()
    {
        UInt256 a = Word(), b = Word();
        return Eip1559(a < b ? a : b, a < b ? b : a);
    }

    private UnsignedTransaction Eip1559(UInt256 priority, UInt256 max) => UnsignedTransaction.Eip1559(
        chainId: _rng.Next(4) == 0 ? ULong() : (ulong)_rng.Next(1, 100_000),
        nonce: ULong(53),
        maxPriorityFeePerGas: priority,
        maxFeePerGas: max,
        gasLimit: ULong(),
        to: _rng.Next(5) == 0 ? null : Address(),
        value: Word(),
        data: Bytes(600),
        accessList: AccessList());
}
