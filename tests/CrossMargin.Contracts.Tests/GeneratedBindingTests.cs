using CrossMargin.Contracts;
using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Abi;
using CrossMargin.Ethereum.Crypto;
using CrossMargin.Ethereum.Numerics;

namespace CrossMargin.Contracts.Tests;

/// <summary>
/// The bindings generated for TestAbi/contracts-abi/KitchenSink.json must produce exactly what the ABI layer's
/// generic codec produces (which is itself differential-tested against ethers), and decode it back.
/// </summary>
public class GeneratedBindingTests
{
    private static readonly Address A1 = Address.Parse("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed");
    private static readonly Address A2 = Address.Parse("0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359");

    private static readonly AbiType OrderType = AbiType.Parse("(address,int256,string[],(uint256,uint256)[2])");

    private static KitchenSink.Order[] Orders() =>
    [
        new(A1, Int256.Parse("-123456789012345678901234567890"), ["a", "", "ünïcödé"], [new(1, 2), new(UInt256.MaxValue, 0)]),
        new(A2, Int256.MaxValue, [], [new(7, 8), new(9, 10)]),
    ];

    private static object?[] OrderValue(KitchenSink.Order o) =>
        [o.Account, o.Size, o.Tags.Cast<object?>().ToArray(), o.Legs.Select(l => (object?)new object?[] { l.MarketId, l.Price }).ToArray()];

    [Fact]
    public void Selectors_are_keccak_of_the_canonical_signature()
    {
        Assert.Equal("nested((address,int256,string[],(uint256,uint256)[2])[],bytes,uint256[3][])", KitchenSink.NestedSignature);
        var h = Keccak256.ComputeUtf8(KitchenSink.NestedSignature).ToArray();
        Assert.Equal((uint)((h[0] << 24) | (h[1] << 16) | (h[2] << 8) | h[3]), KitchenSink.NestedSelector);
        Assert.Equal(Keccak256.ComputeUtf8("Filled(address,uint256,string,int256,uint256[])"), KitchenSink.FilledEvent.Topic0);
    }

    [Fact]
    public void Static_call_encoding_matches_the_generic_codec()
    {
        var h = Keccak256.ComputeUtf8("x");
        byte[] generated = KitchenSink.EncodePlain(A1, UInt256.MaxValue, Int256.MinusOne, h, true);
        byte[] generic = AbiEncoder.EncodeCall(KitchenSink.PlainSelector,
            [AbiType.Address, AbiType.UInt256, AbiType.Int256, AbiType.Bytes32, AbiType.Bool],
            [A1, UInt256.MaxValue, Int256.MinusOne, h, true]);
        Assert.Equal(Hex.Encode(generic), Hex.Encode(generated));
    }

    [Fact]
    public void Nested_dynamic_encoding_matches_the_generic_codec_and_round_trips()
    {
        var orders = Orders();
        byte[] blob = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33];
        UInt256[][] grid = [[1, 2, 3], [4, 5, 6]];
        byte[] generated = KitchenSink.EncodeNested(orders, blob, grid);

        var types = new[] { AbiType.ArrayOf(OrderType), AbiType.Bytes, AbiType.Parse("uint256[3][]") };
        object?[] values =
        [
            orders.Select(o => (object?)OrderValue(o)).ToArray(),
            blob,
            grid.Select(row => (object?)row.Cast<object?>().ToArray()).ToArray(),
        ];
        byte[] generic = AbiEncoder.EncodeCall(KitchenSink.NestedSelector, types, values);
        Assert.Equal(Hex.Encode(generic), Hex.Encode(generated));

        // the outputs (uint256, Order) decode through the generated reader
        byte[] ret = AbiEncoder.Encode([AbiType.UInt256, OrderType], [(UInt256)2, OrderValue(orders[0])]);
        var result = KitchenSink.DecodeNestedResult(ret);
        Assert.Equal((UInt256)2, result.Count);
        Assert.Equal(orders[0].Account, result.Last.Account);
        Assert.Equal(orders[0].Size, result.Last.Size);
        Assert.Equal(orders[0].Tags, result.Last.Tags);
        Assert.Equal(orders[0].Legs, result.Last.Legs);
    }

    [Fact]
    public void Small_integers_are_range_checked_and_sign_extended()
    {
        byte[] data = KitchenSink.EncodeSmall(255, -2, UInt256.Parse("79228162514264337593543950335"), Int256.Parse("-170141183460469231731687303715884105728"), [0xde, 0xad, 0xbe, 0xef]);
        var decoded = AbiDecoder.DecodeCall(KitchenSink.SmallSelector, AbiType.ParseSignature("f(uint8,int16,uint96,int128,bytes4)").Parameters, data);
        Assert.Equal((UInt256)255, decoded[0]);
        Assert.Equal((Int256)(-2), decoded[1]);
        Assert.Throws<AbiEncodingException>(() => KitchenSink.EncodeSmall(1, 1, UInt256.One << 96, Int256.Zero, [1, 2, 3, 4]));
        Assert.Throws<AbiEncodingException>(() => KitchenSink.EncodeSmall(1, 1, 1, Int256.Zero, [1, 2, 3]));

        byte[] ret = AbiEncoder.Encode([AbiType.UInt(64), AbiType.Int(64)], [ulong.MaxValue, long.MinValue]);
        var r = KitchenSink.DecodeSmallResult(ret);
        Assert.Equal(ulong.MaxValue, r.X);
        Assert.Equal(long.MinValue, r.Y);
    }

    [Fact]
    public void Calls_and_transactions_carry_target_and_calldata()
    {
        var k = new KitchenSink(A2);
        var call = k.Over2("hi"); // overloads get a numeric suffix in ABI order
        Assert.Equal(A2, call.To);
        Assert.Equal(KitchenSink.EncodeOver2("hi"), call.Data);
        Assert.Equal("over(string)", call.Signature);
        byte[] ret = AbiEncoder.Encode([AbiType.Bytes], [new byte[] { 9, 9 }]);
        Assert.Equal(new byte[] { 9, 9 }, call.Decode(ret));

        var tx = k.Pay(5, 1000);
        Assert.Equal((UInt256)1000, tx.Value);
        Assert.Equal(A2, tx.To);
        var nested = k.Nested([], [], []);
        Assert.Equal(UInt256.Zero, nested.Value);
    }

    [Fact]
    public void Deploy_data_is_bytecode_then_constructor_arguments()
    {
        byte[] deploy = KitchenSink.EncodeDeploy(A1, "label");
        byte[] args = AbiEncoder.Encode([AbiType.Address, AbiType.String], [A1, "label"]);
        Assert.Equal("0x6080604052" + Hex.Encode(args)[2..], Hex.Encode(deploy));
    }

    [Fact]
    public void Events_decode_from_topics_and_data()
    {
        byte[] data = AbiEncoder.Encode([AbiType.Int256, AbiType.Parse("uint256[]")], [(Int256)(-5), new object?[] { (UInt256)1, (UInt256)2 }]);
        var topics = new List<Hash32>
        {
            KitchenSink.FilledEvent.Topic0,
            new(AbiEncoder.Encode(AbiType.Address, A1)),
            new(AbiEncoder.Encode(AbiType.UInt256, (UInt256)42)),
            Keccak256.ComputeUtf8("note"),
        };
        Assert.True(KitchenSink.FilledEvent.TryDecode(topics, data, out var e));
        Assert.Equal(A1, e.Account);
        Assert.Equal((UInt256)42, e.MarketId);
        Assert.Equal(Keccak256.ComputeUtf8("note"), e.Note);
        Assert.Equal((Int256)(-5), e.Size);
        Assert.Equal(new UInt256[] { 1, 2 }, e.Ids);

        Assert.False(KitchenSink.FilledEvent.TryDecode([Keccak256.ComputeUtf8("Other()")], data, out _));
        var ex = Assert.Throws<AbiDecodingException>(() => KitchenSink.FilledEvent.TryDecode(topics.Take(3).ToList(), data, out _));
        Assert.Equal(AbiDecodingError.Mismatch, ex.Reason);
        Assert.Throws<AbiDecodingException>(() => KitchenSink.FilledEvent.TryDecode(topics, data.AsSpan(0, data.Length - 1), out _));
        // a dirty address topic is rejected
        var dirty = topics.ToList();
        dirty[1] = Hash32.Parse("0x0100000000000000000000005aaeb6053f3e94c9b9a09f33669435e7ef1beaed");
        Assert.Throws<AbiDecodingException>(() => KitchenSink.FilledEvent.TryDecode(dirty, data, out _));
    }

    [Fact]
    public void Custom_errors_decode_by_selector()
    {
        byte[] revert = AbiEncoder.EncodeCall(KitchenSink.BadError.Selector, [AbiType.UInt(8), AbiType.String], [(UInt256)7, "nope"]);
        Assert.True(KitchenSink.TryDecodeError(revert, out var error));
        var bad = Assert.IsType<KitchenSink.BadError>(error);
        Assert.Equal(7, bad.Code);
        Assert.Equal("nope", bad.Why);
        Assert.Equal("Bad", bad.ErrorName);

        byte[] empty = AbiEncoder.EncodeCall(KitchenSink.EmptyError.Selector, [], []);
        Assert.True(KitchenSink.TryDecodeError(empty, out var e2));
        Assert.IsType<KitchenSink.EmptyError>(e2);

        Assert.False(KitchenSink.TryDecodeError([0x08, 0xc3, 0x79, 0xa0], out _));
        Assert.False(KitchenSink.TryDecodeError([1, 2], out _));
        Assert.Throws<AbiDecodingException>(() => KitchenSink.TryDecodeError(revert.AsSpan(0, 40), out _));
    }
}

public class GeneratedNamingTests
{
    [Fact]
    public void A_struct_named_like_a_function_gets_a_Data_suffix()
    {
        var ret = CrossMargin.Ethereum.Abi.AbiEncoder.Encode(
            [CrossMargin.Ethereum.Abi.AbiType.Int256, CrossMargin.Ethereum.Abi.AbiType.UInt256],
            [(CrossMargin.Ethereum.Numerics.Int256)(-3), (CrossMargin.Ethereum.Numerics.UInt256)4]);
        KitchenSink.HealthData h = KitchenSink.DecodeHealthResult(ret);
        Assert.Equal((CrossMargin.Ethereum.Numerics.Int256)(-3), h.Equity);
        Assert.Equal((CrossMargin.Ethereum.Numerics.UInt256)4, h.MaintenanceMargin);
    }
}
