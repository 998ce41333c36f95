using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace CrossMargin.Contracts.Generator;

internal enum GKind
{
    UInt,
    Int,
    Address,
    Bool,
    FixedBytes,
    Bytes,
    String,
    Array,
    FixedArray,
    Tuple,
}

/// <summary>An ABI type as the generator needs it: C# type, head size, dynamic or not.</summary>
internal sealed class GType
{
    private GType(GKind kind, int bits, GType? element, int length, IReadOnlyList<(string Name, GType Type)> components, string? structName)
    {
        Kind = kind;
        Bits = bits;
        Element = element;
        Length = length;
        Components = components;
        StructName = structName;
    }

    public GKind Kind { get; }

    /// <summary>uintN/intN bits, or N of bytesN.</summary>
    public int Bits { get; }

    public GType? Element { get; }

    public int Length { get; }

    public IReadOnlyList<(string Name, GType Type)> Components { get; }

    /// <summary>The C# record name of a tuple (from the Solidity struct name, or synthesized).</summary>
    public string? StructName { get; set; }

    public string Canonical => Kind switch
    {
        GKind.UInt => "uint" + Bits.ToString(CultureInfo.InvariantCulture),
        GKind.Int => "int" + Bits.ToString(CultureInfo.InvariantCulture),
        GKind.Address => "address",
        GKind.Bool => "bool",
        GKind.FixedBytes => "bytes" + Bits.ToString(CultureInfo.InvariantCulture),
        GKind.Bytes => "bytes",
        GKind.String => "string",
        GKind.Array => Element!.Canonical + "[]",
        GKind.FixedArray => Element!.Canonical + "[" + Length.ToString(CultureInfo.InvariantCulture) + "]",
        _ => "(" + string.Join(",", Components.Select(c => c.Type.Canonical)) + ")",
    };

    public bool IsDynamic => Kind switch
    {
        GKind.Bytes or GKind.String or GKind.Array => true,
        GKind.FixedArray => Element!.IsDynamic,
        GKind.Tuple => Components.Any(c => c.Type.IsDynamic),
        _ => false,
    };

    /// <summary>Bytes this type takes in its parent's head.</summary>
    public int HeadSize => IsDynamic ? 32 : InlineSize;

    /// <summary>Bytes of the heads inside a tuple or fixed array (the frame size when it is opened).</summary>
    public int InlineSize => Kind switch
    {
        GKind.FixedArray => Length * Element!.HeadSize,
        GKind.Tuple => Components.Sum(c => c.Type.HeadSize),
        _ => 32,
    };

    public string CsType => Kind switch
    {
        GKind.UInt => Bits switch
        {
            8 => "byte",
            16 => "ushort",
            32 => "uint",
            64 => "ulong",
            _ => "global::CrossMargin.Ethereum.Numerics.UInt256",
        },
        GKind.Int => Bits switch
        {
            8 => "sbyte",
            16 => "short",
            32 => "int",
            64 => "long",
            _ => "global::CrossMargin.Ethereum.Numerics.Int256",
        },
        GKind.Address => "global::CrossMargin.Ethereum.Address",
        GKind.Bool => "bool",
        GKind.FixedBytes => Bits == 32 ? "global::CrossMargin.Ethereum.Hash32" : "byte[]",
        GKind.Bytes => "byte[]",
        GKind.String => "string",
        GKind.Array or GKind.FixedArray => Element!.CsType + "[]",
        _ => StructName ?? throw new InvalidOperationException("Tuple without a name"),
    };

    public IEnumerable<GType> SelfAndDescendants()
    {
        yield return this;
        if (Element is not null)
        {
            foreach (var t in Element.SelfAndDescendants()) yield return t;
        }
        foreach (var c in Components)
        {
            foreach (var t in c.Type.SelfAndDescendants()) yield return t;
        }
    }

    public static GType FromParam(AbiParam p) => FromTypeString(p.Type, p);

    private static GType FromTypeString(string type, AbiParam p)
    {
        if (type.EndsWith("]", StringComparison.Ordinal))
        {
            int open = type.LastIndexOf('[');
            string inner = type.Substring(0, open);
            string len = type.Substring(open + 1, type.Length - open - 2);
            var element = FromTypeString(inner, p);
            if (len.Length == 0) return new GType(GKind.Array, 0, element, 0, Array.Empty<(string, GType)>(), null);
            int k = int.Parse(len, NumberStyles.None, CultureInfo.InvariantCulture);
            if (k <= 0 || k > 4096) throw new FormatException("Unsupported fixed array length in " + type);
            return new GType(GKind.FixedArray, 0, element, k, Array.Empty<(string, GType)>(), null);
        }
        if (type == "tuple")
        {
            var comps = p.Components.Select((c, i) => (c.Name.Length > 0 ? c.Name : "item" + i.ToString(CultureInfo.InvariantCulture), FromParam(c))).ToList();
            return new GType(GKind.Tuple, 0, null, 0, comps, p.StructName);
        }
        switch (type)
        {
            case "address": return Simple(GKind.Address, 0);
            case "bool": return Simple(GKind.Bool, 0);
            case "bytes": return Simple(GKind.Bytes, 0);
            case "string": return Simple(GKind.String, 0);
            case "uint": return Simple(GKind.UInt, 256);
            case "int": return Simple(GKind.Int, 256);
        }
        if (type.StartsWith("uint", StringComparison.Ordinal)) return Simple(GKind.UInt, ParseBits(type, 4, 8, 256));
        if (type.StartsWith("int", StringComparison.Ordinal)) return Simple(GKind.Int, ParseBits(type, 3, 8, 256));
        if (type.StartsWith("bytes", StringComparison.Ordinal)) return Simple(GKind.FixedBytes, ParseBits(type, 5, 1, 32));
        throw new FormatException("Unsupported ABI type " + type);
    }

    private static int ParseBits(string type, int prefix, int step, int max)
    {
        int n = int.Parse(type.Substring(prefix), NumberStyles.None, CultureInfo.InvariantCulture);
        if (n < step || n > max || n % step != 0) throw new FormatException("Unsupported ABI type " + type);
        return n;
    }

    private static GType Simple(GKind kind, int bits) => new(kind, bits, null, 0, Array.Empty<(string, GType)>(), null);
}
