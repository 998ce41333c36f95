using System.Buffers;
using System.Text.Json;
using CrossMargin.Ethereum.Numerics;

namespace CrossMargin.Ethereum.Rpc;

/// <summary>
/// Strict readers for JSON-RPC result values and writers for request parameters. Every reader throws
/// <see cref="RpcResponseFormatException"/> (<see cref="RpcFormatError.InvalidResult"/>) on a value of the wrong
/// shape, naming the field, so result parsers can be written without their own error handling.
/// </summary>
public static class RpcJson
{
    // ---- readers -------------------------------------------------------------------------------------

    /// <summary>The named property of an object; missing or not an object is an error.</summary>
    public static JsonElement Required(this JsonElement obj, string name)
    {
        if (obj.ValueKind != JsonValueKind.Object) throw Invalid(name, $"expected an object holding '{name}', got {obj.ValueKind}");
        if (!obj.TryGetProperty(name, out var value)) throw Invalid(name, "missing");
        return value;
    }

    /// <summary>The named property, or null when it is absent or JSON null.</summary>
    public static JsonElement? Optional(this JsonElement obj, string name)
    {
        if (obj.ValueKind != JsonValueKind.Object) throw Invalid(name, $"expected an object holding '{name}', got {obj.ValueKind}");
        return obj.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;
    }

    /// <summary>A strict 64-bit quantity ("0x0", "0x1a").</summary>
    public static ulong ReadQuantity(this JsonElement value, string field = "result")
    {
        string s = ReadString(value, field);
        try { return Hex.ParseQuantity(s); }
        catch (HexFormatException ex) { throw Invalid(field, $"'{Clip(s)}' is not a 64-bit quantity: {ex.Message}", ex); }
    }

    /// <summary>A strict quantity of at most 256 bits.</summary>
    public static UInt256 ReadUInt256(this JsonElement value, string field = "result")
    {
        string s = ReadString(value, field);
        try { return RpcQuantity.ParseUInt256(s); }
        catch (HexFormatException ex) { throw Invalid(field, $"'{Clip(s)}' is not a 256-bit quantity: {ex.Message}", ex); }
    }

    public static Address ReadAddress(this JsonElement value, string field = "result")
    {
        string s = ReadString(value, field);
        if (!Address.TryParse(s, out var a)) throw Invalid(field, $"'{Clip(s)}' is not an address");
        return a;
    }

    public static Hash32 ReadHash(this JsonElement value, string field = "result")
    {
        string s = ReadString(value, field);
        if (!Hash32.TryParse(s, out var h)) throw Invalid(field, $"'{Clip(s)}' is not a 32-byte hash");
        return h;
    }

    /// <summary>Strict hex data ("0x" + even number of digits).</summary>
    public static byte[] ReadData(this JsonElement value, string field = "result")
    {
        string s = ReadString(value, field);
        try { return Hex.Decode(s); }
        catch (HexFormatException ex) { throw Invalid(field, $"'{Clip(s)}' is not hex data: {ex.Message}", ex); }
    }

    public static bool ReadBool(this JsonElement value, string field = "result") => value.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => throw Invalid(field, $"expected a boolean, got {value.ValueKind}"),
    };

    public static string ReadString(this JsonElement value, string field = "result")
    {
        if (value.ValueKind != JsonValueKind.String) throw Invalid(field, $"expected a string, got {value.ValueKind}");
        return value.GetString()!;
    }

    /// <summary>A JSON number that is finite.</summary>
    public static double ReadDouble(this JsonElement value, string field = "result")
    {
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out double d) || !double.IsFinite(d))
            throw Invalid(field, $"expected a finite number, got {value.ValueKind}");
        return d;
    }

    /// <summary>Reads every element of an array.</summary>
    public static T[] ReadArray<T>(this JsonElement value, string field, Func<JsonElement, string, T> read)
    {
        if (value.ValueKind != JsonValueKind.Array) throw Invalid(field, $"expected an array, got {value.ValueKind}");
        var result = new T[value.GetArrayLength()];
        int i = 0;
        foreach (var item in value.EnumerateArray())
        {
            result[i] = read(item, field + "[" + i.ToString(System.Globalization.CultureInfo.InvariantCulture) + "]");
            i++;
        }
        return result;
    }

    internal static RpcResponseFormatException Invalid(string field, string problem, Exception? inner = null) =>
        new(RpcFormatError.InvalidResult, $"Invalid '{field}': {problem}.", inner);

    private static string Clip(string s) => s.Length <= 80 ? s : string.Concat(s.AsSpan(0, 77), "...");

    // ---- writers -------------------------------------------------------------------------------------

    public static void WriteQuantity(this Utf8JsonWriter writer, ulong value)
    {
        Span<char> buf = stackalloc char[18];
        buf[0] = '0';
        buf[1] = 'x';
        value.TryFormat(buf[2..], out int n, "x", System.Globalization.CultureInfo.InvariantCulture);
        writer.WriteStringValue(buf[..(2 + n)]);
    }

    public static void WriteQuantity(this Utf8JsonWriter writer, in UInt256 value)
    {
        Span<char> buf = stackalloc char[66];
        int n = RpcQuantity.Format(value, buf);
        writer.WriteStringValue(buf[..n]);
    }

    public static void WriteAddress(this Utf8JsonWriter writer, in Address address)
    {
        Span<byte> b = stackalloc byte[Address.Size];
        address.CopyTo(b);
        Span<char> buf = stackalloc char[42];
        Hex.Encode(b, buf);
        writer.WriteStringValue(buf);
    }

    public static void WriteHash(this Utf8JsonWriter writer, in Hash32 hash)
    {
        Span<byte> b = stackalloc byte[Hash32.Size];
        hash.CopyTo(b);
        Span<char> buf = stackalloc char[66];
        Hex.Encode(b, buf);
        writer.WriteStringValue(buf);
    }

    public static void WriteData(this Utf8JsonWriter writer, ReadOnlySpan<byte> data)
    {
        int len = Hex.EncodedLength(data.Length);
        char[]? rented = null;
        Span<char> buf = len <= 512 ? stackalloc char[512] : (rented = ArrayPool<char>.Shared.Rent(len));
        try
        {
            Hex.Encode(data, buf);
            writer.WriteStringValue(buf[..len]);
        }
        finally
        {
            if (rented is not null) ArrayPool<char>.Shared.Return(rented);
        }
    }

    public static void WriteBlockTag(this Utf8JsonWriter writer, BlockTag tag) => tag.WriteTo(writer);
}
