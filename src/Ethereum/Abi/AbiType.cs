using System.Globalization;
using System.Text;
using System.Text.Json;

namespace CrossMargin.Ethereum.Abi;

/// <summary>The kinds of Solidity ABI types supported.</summary>
public enum AbiTypeKind
{
    UInt,
    Int,
    Address,
    Bool,
    /// <summary><c>bytes1</c> .. <c>bytes32</c>.</summary>
    FixedBytes,
    /// <summary>Dynamic <c>bytes</c>.</summary>
    Bytes,
    String,
    /// <summary>Dynamic array <c>T[]</c>.</summary>
    Array,
    /// <summary>Fixed-length array <c>T[k]</c>.</summary>
    FixedArray,
    Tuple,
}

/// <summary>
/// An immutable Solidity ABI type. Parsed strictly from canonical type strings (<see cref="Parse"/>) or from
/// JSON-ABI parameter objects (<see cref="FromJson"/>). Equality is structural on the canonical name;
/// tuple component names are informational only.
/// </summary>
public sealed class AbiType : IEquatable<AbiType>
{
    /// <summary>Maximum nesting depth (arrays and tuples) accepted; bounds encoder and decoder recursion.</summary>
    public const int MaxDepth = 32;

    /// <summary>Maximum static (head) size of any type, in bytes.</summary>
    public const int MaxStaticSize = 1 << 24;

    /// <summary>Maximum number of components of a tuple.</summary>
    public const int MaxTupleComponents = 1024;

    private static readonly AbiType[] UInts = CreateInts(AbiTypeKind.UInt);
    private static readonly AbiType[] Ints = CreateInts(AbiTypeKind.Int);
    private static readonly AbiType[] FixedBytesTypes = CreateFixedBytes();

    public static AbiType Address { get; } = new(AbiTypeKind.Address, 0, "address");
    public static AbiType Bool { get; } = new(AbiTypeKind.Bool, 0, "bool");
    public static AbiType Bytes { get; } = new(AbiTypeKind.Bytes, 0, "bytes");
    public static AbiType String { get; } = new(AbiTypeKind.String, 0, "string");
    public static AbiType UInt256 => UInts[31];
    public static AbiType Int256 => Ints[31];
    public static AbiType Bytes32 => FixedBytesTypes[31];

    public AbiTypeKind Kind { get; }

    /// <summary>Bit width of uintN/intN; byte length N of bytesN; 0 otherwise.</summary>
    public int Size { get; }

    /// <summary>Element count of a fixed array (<c>T[k]</c>); 0 otherwise.</summary>
    public int Length { get; }

    /// <summary>Element type of <c>T[]</c> and <c>T[k]</c>; null otherwise.</summary>
    public AbiType? Element { get; }

    /// <summary>Components of a tuple; empty otherwise.</summary>
    public IReadOnlyList<AbiType> Components { get; }

    /// <summary>Component names of a tuple from a JSON ABI (may be empty strings); null when unknown.</summary>
    public IReadOnlyList<string>? ComponentNames { get; }

    /// <summary>True for bytes, string, T[], and arrays/tuples containing a dynamic type.</summary>
    public bool IsDynamic { get; }

    /// <summary>Bytes this type takes in the head of its enclosing tuple: 32 when dynamic, else its full static size.</summary>
    public int HeadSize { get; }

    /// <summary>Bytes of the heads inside a tuple or fixed array (what its own frame holds); 0 for other types.</summary>
    public int InnerHeadSize { get; }

    /// <summary>Nesting depth: 0 for elementary types.</summary>
    public int Depth { get; }

    /// <summary>The canonical type string, e.g. <c>(uint256,address)[]</c>.</summary>
    public string CanonicalName { get; }

    private AbiType(AbiTypeKind kind, int size, string name)
    {
        Kind = kind;
        Size = size;
        Components = System.Array.Empty<AbiType>();
        IsDynamic = kind is AbiTypeKind.Bytes or AbiTypeKind.String;
        HeadSize = 32;
        CanonicalName = name;
    }

    private AbiType(AbiTypeKind kind, AbiType element, int length)
    {
        Kind = kind;
        Element = element;
        Length = length;
        Components = System.Array.Empty<AbiType>();
        Depth = element.Depth + 1;
        if (kind == AbiTypeKind.Array)
        {
            IsDynamic = true;
            HeadSize = 32;
            CanonicalName = element.CanonicalName + "[]";
        }
        else
        {
            IsDynamic = element.IsDynamic;
            InnerHeadSize = element.HeadSize * length; // caller checked the bound
            HeadSize = IsDynamic ? 32 : InnerHeadSize;
            CanonicalName = element.CanonicalName + "[" + length.ToString(CultureInfo.InvariantCulture) + "]";
        }
    }

    private AbiType(AbiType[] components, string[]? names, int headSize, bool dynamic, int depth)
    {
        Kind = AbiTypeKind.Tuple;
        Components = components;
        ComponentNames = names;
        IsDynamic = dynamic;
        InnerHeadSize = headSize;
        HeadSize = dynamic ? 32 : headSize;
        Depth = depth;
        var sb = new StringBuilder("(");
        for (int i = 0; i < components.Length; i++)
        {
            if (i > 0) sb.Append(',');
            sb.Append(components[i].CanonicalName);
        }
        CanonicalName = sb.Append(')').ToString();
    }

    private static AbiType[] CreateInts(AbiTypeKind kind)
    {
        var a = new AbiType[32];
        string prefix = kind == AbiTypeKind.UInt ? "uint" : "int";
        for (int i = 0; i < 32; i++) a[i] = new AbiType(kind, (i + 1) * 8, prefix + ((i + 1) * 8).ToString(CultureInfo.InvariantCulture));
        return a;
    }

    private static AbiType[] CreateFixedBytes()
    {
        var a = new AbiType[32];
        for (int i = 0; i < 32; i++) a[i] = new AbiType(AbiTypeKind.FixedBytes, i + 1, "bytes" + (i + 1).ToString(CultureInfo.InvariantCulture));
        return a;
    }

    /// <summary><c>uintN</c>, N = 8..256 in steps of 8.</summary>
    public static AbiType UInt(int bits) =>
        bits is >= 8 and <= 256 && bits % 8 == 0 ? UInts[(bits / 8) - 1] : throw new ArgumentOutOfRangeException(nameof(bits), "uintN needs N in 8..256, a multiple of 8.");

    /// <summary><c>intN</c>, N = 8..256 in steps of 8.</summary>
    public static AbiType Int(int bits) =>
        bits is >= 8 and <= 256 && bits % 8 == 0 ? Ints[(bits / 8) - 1] : throw new ArgumentOutOfRangeException(nameof(bits), "intN needs N in 8..256, a multiple of 8.");

    /// <summary><c>bytesN</c>, N = 1..32.</summary>
    public static AbiType FixedBytes(int length) =>
        length is >= 1 and <= 32 ? FixedBytesTypes[length - 1] : throw new ArgumentOutOfRangeException(nameof(length), "bytesN needs N in 1..32.");

    /// <summary><c>T[]</c>.</summary>
    public static AbiType ArrayOf(AbiType element)
    {
        ArgumentNullException.ThrowIfNull(element);
        if (element.Depth + 1 > MaxDepth) throw new ArgumentException($"Type nesting deeper than {MaxDepth}.", nameof(element));
        return new AbiType(AbiTypeKind.Array, element, 0);
    }

    /// <summary><c>T[k]</c>, k ≥ 1.</summary>
    public static AbiType FixedArrayOf(AbiType element, int length)
    {
        ArgumentNullException.ThrowIfNull(element);
        string? error = CheckFixedArray(element, length);
        if (error is not null) throw new ArgumentException(error, nameof(length));
        return new AbiType(AbiTypeKind.FixedArray, element, length);
    }

    /// <summary>A tuple of one or more components, optionally named.</summary>
    public static AbiType Tuple(IReadOnlyList<AbiType> components, IReadOnlyList<string>? names = null)
    {
        ArgumentNullException.ThrowIfNull(components);
        var comps = new AbiType[components.Count];
        for (int i = 0; i < comps.Length; i++) comps[i] = components[i] ?? throw new ArgumentException("Null tuple component.", nameof(components));
        string[]? n = null;
        if (names is not null)
        {
            if (names.Count != comps.Length) throw new ArgumentException("One name per component is needed.", nameof(names));
            n = names.ToArray();
        }
        string? error = CheckTuple(comps, out int head, out bool dynamic, out int depth);
        if (error is not null) throw new ArgumentException(error, nameof(components));
        return new AbiType(comps, n, head, dynamic, depth);
    }

    /// <inheritdoc cref="Tuple(IReadOnlyList{AbiType}, IReadOnlyList{string}?)"/>
    public static AbiType Tuple(params AbiType[] components) => Tuple((IReadOnlyList<AbiType>)components);

    private static string? CheckFixedArray(AbiType element, int length)
    {
        if (length < 1) return "A fixed array needs at least one element.";
        if (element.Depth + 1 > MaxDepth) return $"Type nesting deeper than {MaxDepth}.";
        if (!element.IsDynamic && (long)element.HeadSize * length > MaxStaticSize) return $"Static size exceeds {MaxStaticSize} bytes.";
        if (element.IsDynamic && (long)32 * length > MaxStaticSize) return $"Head size exceeds {MaxStaticSize} bytes.";
        return null;
    }

    private static string? CheckTuple(AbiType[] comps, out int head, out bool dynamic, out int depth)
    {
        head = 0;
        dynamic = false;
        depth = 1;
        if (comps.Length == 0) return "A tuple needs at least one component.";
        if (comps.Length > MaxTupleComponents) return $"A tuple may have at most {MaxTupleComponents} components.";
        long h = 0;
        foreach (var c in comps)
        {
            h += c.HeadSize;
            dynamic |= c.IsDynamic;
            depth = Math.Max(depth, c.Depth + 1);
        }
        if (depth > MaxDepth) return $"Type nesting deeper than {MaxDepth}.";
        if (h > MaxStaticSize) return $"Static size exceeds {MaxStaticSize} bytes.";
        head = (int)h;
        return null;
    }

    // ------------------------------------------------------------------ parsing

    /// <summary>Parses a canonical type string such as <c>uint256</c>, <c>bytes32[2]</c>, <c>(address,uint256)[]</c>.</summary>
    /// <exception cref="AbiFormatException">Malformed, non-canonical (e.g. <c>uint</c>) or unsupported type.</exception>
    public static AbiType Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        int pos = 0;
        var t = ParseType(text, ref pos, 0);
        if (pos != text.Length) throw Error(text, pos, "unexpected character");
        return t;
    }

    /// <summary>Parses a type string, returning false instead of throwing on bad input.</summary>
    public static bool TryParse(string? text, out AbiType? type)
    {
        type = null;
        if (text is null) return false;
        try
        {
            type = Parse(text);
            return true;
        }
        catch (AbiFormatException)
        {
            return false;
        }
    }

    /// <summary>
    /// Parses a canonical signature <c>name(type,...)</c> into its name and parameter types
    /// (e.g. <c>transfer(address,uint256)</c>). No spaces, no parameter names.
    /// </summary>
    public static (string Name, AbiType[] Parameters) ParseSignature(string signature)
    {
        ArgumentNullException.ThrowIfNull(signature);
        int open = signature.IndexOf('(', StringComparison.Ordinal);
        if (open <= 0) throw new AbiFormatException($"Signature '{signature}' needs a name followed by '('.");
        string name = signature[..open];
        if (!IsIdentifier(name)) throw new AbiFormatException($"Signature '{signature}' has an invalid name.");
        int pos = open + 1;
        var list = new List<AbiType>();
        if (pos < signature.Length && signature[pos] == ')')
        {
            pos++;
        }
        else
        {
            while (true)
            {
                list.Add(ParseType(signature, ref pos, 1));
                if (pos >= signature.Length) throw Error(signature, pos, "unterminated parameter list");
                char c = signature[pos++];
                if (c == ')') break;
                if (c != ',') throw Error(signature, pos - 1, "expected ',' or ')'");
            }
        }
        if (pos != signature.Length) throw Error(signature, pos, "unexpected text after ')'");
        return (name, list.ToArray());
    }

    internal static bool IsIdentifier(string s)
    {
        if (s.Length == 0) return false;
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            bool ok = c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or '_' or '$' || (i > 0 && c is >= '0' and <= '9');
            if (!ok) return false;
        }
        return true;
    }

    private static AbiFormatException Error(string text, int pos, string what) =>
        new($"Invalid ABI type '{text}' at position {pos}: {what}.");

    private static AbiType ParseType(string s, ref int pos, int depth)
    {
        if (depth > MaxDepth) throw Error(s, pos, $"nesting deeper than {MaxDepth}");
        AbiType t;
        if (pos < s.Length && s[pos] == '(')
        {
            int start = pos;
            pos++;
            var comps = new List<AbiType>();
            if (pos < s.Length && s[pos] == ')') throw Error(s, pos, "empty tuple");
            while (true)
            {
                comps.Add(ParseType(s, ref pos, depth + 1));
                if (pos >= s.Length) throw Error(s, pos, "unterminated tuple");
                char c = s[pos++];
                if (c == ')') break;
                if (c != ',') throw Error(s, pos - 1, "expected ',' or ')'");
                if (comps.Count >= MaxTupleComponents) throw Error(s, pos, "too many tuple components");
            }
            var arr = comps.ToArray();
            string? err = CheckTuple(arr, out int head, out bool dyn, out int d);
            if (err is not null) throw Error(s, start, err);
            t = new AbiType(arr, null, head, dyn, d);
        }
        else
        {
            int start = pos;
            while (pos < s.Length && s[pos] is (>= 'a' and <= 'z') or (>= '0' and <= '9')) pos++;
            if (pos == start) throw Error(s, pos, "expected a type");
            t = Elementary(s, start, pos);
        }
        return ParseSuffixes(s, ref pos, t);
    }

    private static AbiType ParseSuffixes(string s, ref int pos, AbiType t)
    {
        while (pos < s.Length && s[pos] == '[')
        {
            int start = pos;
            pos++;
            if (pos < s.Length && s[pos] == ']')
            {
                pos++;
                if (t.Depth + 1 > MaxDepth) throw Error(s, start, $"nesting deeper than {MaxDepth}");
                t = new AbiType(AbiTypeKind.Array, t, 0);
                continue;
            }
            int digits = pos;
            while (pos < s.Length && s[pos] is >= '0' and <= '9') pos++;
            if (pos == digits) throw Error(s, pos, "expected ']' or an array length");
            if (s[digits] == '0') throw Error(s, digits, "array length must be positive without leading zeros");
            if (pos - digits > 9) throw Error(s, digits, "array length too large");
            int k = int.Parse(s.AsSpan(digits, pos - digits), NumberStyles.None, CultureInfo.InvariantCulture);
            if (pos >= s.Length || s[pos] != ']') throw Error(s, pos, "expected ']'");
            pos++;
            string? err = CheckFixedArray(t, k);
            if (err is not null) throw Error(s, start, err);
            t = new AbiType(AbiTypeKind.FixedArray, t, k);
        }
        return t;
    }

    private static AbiType Elementary(string s, int start, int end)
    {
        ReadOnlySpan<char> id = s.AsSpan(start, end - start);
        switch (id)
        {
            case "address": return Address;
            case "bool": return Bool;
            case "bytes": return Bytes;
            case "string": return String;
            case "uint":
            case "int":
                throw Error(s, start, $"'{id}' is not canonical; write '{id}256'");
        }
        if (id.StartsWith("uint", StringComparison.Ordinal)) return UInts[IntBits(s, start, id[4..]) / 8 - 1];
        if (id.StartsWith("int", StringComparison.Ordinal)) return Ints[IntBits(s, start, id[3..]) / 8 - 1];
        if (id.StartsWith("bytes", StringComparison.Ordinal))
        {
            int n = Number(s, start, id[5..]);
            if (n is < 1 or > 32) throw Error(s, start, "bytesN needs N in 1..32");
            return FixedBytesTypes[n - 1];
        }
        if (id.StartsWith("fixed", StringComparison.Ordinal) || id.StartsWith("ufixed", StringComparison.Ordinal))
            throw Error(s, start, "fixed-point types are not supported");
        throw Error(s, start, $"unknown type '{id}'");
    }

    private static int IntBits(string s, int start, ReadOnlySpan<char> digits)
    {
        int n = Number(s, start, digits);
        if (n is < 8 or > 256 || n % 8 != 0) throw Error(s, start, "integer width must be 8..256 in steps of 8");
        return n;
    }

    private static int Number(string s, int start, ReadOnlySpan<char> digits)
    {
        if (digits.Length is 0 or > 3 || digits[0] == '0') throw Error(s, start, "bad type width");
        int n = 0;
        foreach (char c in digits)
        {
            if (c is < '0' or > '9') throw Error(s, start, "bad type width");
            n = (n * 10) + (c - '0');
        }
        return n;
    }

    // ------------------------------------------------------------------ JSON ABI

    /// <summary>
    /// Builds the type of a JSON-ABI parameter object: <c>{"type": "...", "components": [...]}</c>.
    /// <c>tuple</c> types (with array suffixes) take their components; <c>name</c>s become component names;
    /// <c>internalType</c> is ignored.
    /// </summary>
    public static AbiType FromJson(JsonElement parameter) => FromJson(parameter, 0);

    internal static AbiType FromJson(JsonElement parameter, int depth)
    {
        if (parameter.ValueKind != JsonValueKind.Object) throw new AbiFormatException("An ABI parameter must be a JSON object.");
        if (depth > MaxDepth) throw new AbiFormatException($"ABI parameter nesting deeper than {MaxDepth}.");
        if (!parameter.TryGetProperty("type", out var typeEl) || typeEl.ValueKind != JsonValueKind.String)
            throw new AbiFormatException("An ABI parameter needs a string 'type'.");
        string type = typeEl.GetString()!;
        if (!type.StartsWith("tuple", StringComparison.Ordinal)) return Parse(type);

        if (!parameter.TryGetProperty("components", out var comps) || comps.ValueKind != JsonValueKind.Array)
            throw new AbiFormatException($"ABI parameter of type '{type}' needs a 'components' array.");
        var types = new List<AbiType>();
        var names = new List<string>();
        foreach (var c in comps.EnumerateArray())
        {
            types.Add(FromJson(c, depth + 1));
            names.Add(c.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString()! : "");
        }
        var arr = types.ToArray();
        string? err = CheckTuple(arr, out int head, out bool dyn, out int d);
        if (err is not null) throw new AbiFormatException($"Invalid tuple parameter: {err}");
        var tuple = new AbiType(arr, names.ToArray(), head, dyn, d);
        int pos = 5;
        var result = ParseSuffixes(type, ref pos, tuple);
        if (pos != type.Length) throw Error(type, pos, "unexpected character");
        return result;
    }

    // ------------------------------------------------------------------ equality

    public bool Equals(AbiType? other) => other is not null && (ReferenceEquals(this, other) || CanonicalName == other.CanonicalName);

    public override bool Equals(object? obj) => obj is AbiType t && Equals(t);

    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(CanonicalName);

    public override string ToString() => CanonicalName;

    public static bool operator ==(AbiType? a, AbiType? b) => a is null ? b is null : a.Equals(b);

    public static bool operator !=(AbiType? a, AbiType? b) => !(a == b);

    /// <summary>Canonical signature <c>name(t1,t2,...)</c> used for selectors and topics.</summary>
    public static string Signature(string name, IReadOnlyList<AbiType> parameters)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(parameters);
        var sb = new StringBuilder(name).Append('(');
        for (int i = 0; i < parameters.Count; i++)
        {
            if (i > 0) sb.Append(',');
            sb.Append(parameters[i].CanonicalName);
        }
        return sb.Append(')').ToString();
    }
}
