using BenchmarkDotNet.Attributes;
using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Abi;
using CrossMargin.Ethereum.Numerics;

namespace CrossMargin.Benchmarks;

/// <summary>
/// ABI encode/decode of a 5-argument call <c>liquidate(address,uint256,int256,bytes32,bool)</c> and of
/// <c>(address,uint256,uint256)[]</c> with 10 elements, through the fast path (AbiWriter/AbiReader, as generated
/// bindings call it) and the generic path (AbiEncoder/AbiDecoder over object values).
/// The same operations in ethers 6: bench/ethers/abi.cjs.
/// </summary>
[MemoryDiagnoser]
public class AbiBenchmarks
{
    private static readonly AbiFunction Liquidate = AbiFunction.Parse("liquidate(address,uint256,int256,bytes32,bool)");
    private static readonly AbiType[] RowsType = [AbiType.Parse("(address,uint256,uint256)[]")];

    private readonly Address _account = Address.Parse("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed");
    private readonly UInt256 _size = UInt256.Parse("123456789012345678901234567890");
    private readonly Int256 _pnl = Int256.Parse("-987654321098765432109876543210");
    private readonly Hash32 _market = Hash32.Parse("0x4554482d5045525000000000000000000000000000000000000000000000abcd");
    private readonly (Address Account, UInt256 Size, UInt256 Margin)[] _rows = new (Address, UInt256, UInt256)[10];

    private object?[] _callValues = [];
    private object?[] _rowValues = [];
    private byte[] _calldata = [];
    private byte[] _rowsEncoded = [];

    [GlobalSetup]
    public void Setup()
    {
        for (int i = 0; i < _rows.Length; i++)
        {
            var a = new byte[20];
            a[0] = (byte)(i + 1);
            a[19] = (byte)(0xA0 + i);
            _rows[i] = (new Address(a), UInt256.Parse("1000000000000000000") * new UInt256((ulong)(i + 1)), new UInt256((ulong)(i * 7919)));
        }
        _callValues = [_account, _size, _pnl, _market.ToArray(), true];
        _rowValues = [_rows.Select(r => (object?)new object?[] { r.Account, r.Size, r.Margin }).ToArray()];
        _calldata = EncodeCallFast();
        _rowsEncoded = EncodeRowsFast();
        if (!_calldata.AsSpan().SequenceEqual(EncodeCallGeneric()) || !_rowsEncoded.AsSpan().SequenceEqual(EncodeRowsGeneric()))
            throw new InvalidOperationException("fast and generic encodings differ");
    }

    [Benchmark]
    public byte[] EncodeCallFast()
    {
        var buf = new byte[4 + (5 * 32)];
        AbiWriter.WriteSelector(buf, Liquidate.Selector);
        var w = new AbiWriter(buf.AsSpan(4), 5 * 32);
        w.WriteAddress(_account);
        w.WriteUInt256(_size);
        w.WriteInt256(_pnl);
        w.WriteBytes32(_market);
        w.WriteBool(true);
        w.Finish();
        return buf;
    }

    [Benchmark]
    public byte[] EncodeCallGeneric() => Liquidate.EncodeCall(_callValues);

    [Benchmark]
    public UInt256 DecodeCallFast()
    {
        ReadOnlySpan<byte> data = _calldata;
        if (AbiReader.ReadSelector(data) != Liquidate.Selector) throw new InvalidOperationException();
        var r = new AbiReader(data[4..], 5 * 32);
        var account = r.ReadAddress();
        var size = r.ReadUInt256();
        var pnl = r.ReadInt256();
        var market = r.ReadBytes32();
        bool full = r.ReadBool();
        r.Finish();
        return full && !account.IsZero && !market.IsZero && !pnl.IsZero ? size : default;
    }

    [Benchmark]
    public object?[] DecodeCallGeneric() => Liquidate.DecodeCall(_calldata);

    [Benchmark]
    public byte[] EncodeRowsFast()
    {
        var rows = _rows;
        var buf = new byte[32 + AbiWriter.StaticArrayTailSize(rows.Length, 96)];
        var w = new AbiWriter(buf, 32);
        var a = w.BeginArray(rows.Length, 96);
        foreach (ref readonly var row in rows.AsSpan())
        {
            a.WriteAddress(row.Account);
            a.WriteUInt256(row.Size);
            a.WriteUInt256(row.Margin);
        }
        w.End(a);
        w.Finish();
        return buf;
    }

    [Benchmark]
    public byte[] EncodeRowsGeneric() => AbiEncoder.Encode(RowsType, _rowValues);

    [Benchmark]
    public (Address, UInt256, UInt256)[] DecodeRowsFast()
    {
        var r = new AbiReader(_rowsEncoded, 32);
        var a = r.BeginArray(96, out int count);
        var rows = new (Address, UInt256, UInt256)[count];
        for (int i = 0; i < rows.Length; i++) rows[i] = (a.ReadAddress(), a.ReadUInt256(), a.ReadUInt256());
        r.End(a);
        r.Finish();
        return rows;
    }

    [Benchmark]
    public object?[] DecodeRowsGeneric() => AbiDecoder.Decode(RowsType, _rowsEncoded);
}
