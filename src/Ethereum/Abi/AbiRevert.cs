using CrossMargin.Ethereum.Numerics;

namespace CrossMargin.Ethereum.Abi;

/// <summary>What a revert's data turned out to be.</summary>
public enum RevertKind
{
    /// <summary>No data (<c>revert()</c>, out of gas, failed <c>require</c> without message...).</summary>
    Empty,

    /// <summary><c>Error(string)</c>: a require/revert message.</summary>
    Error,

    /// <summary><c>Panic(uint256)</c>: assert failure, overflow, division by zero...</summary>
    Panic,

    /// <summary>A custom error found in the given ABI.</summary>
    Custom,

    /// <summary>Data that is none of the above (unknown selector, or malformed) — kept raw.</summary>
    Unknown,
}

/// <summary>A decoded revert reason.</summary>
public sealed class RevertReason
{
    private RevertReason(RevertKind kind, byte[] data)
    {
        Kind = kind;
        Data = data;
    }

    public RevertKind Kind { get; }

    /// <summary>The raw revert data.</summary>
    public byte[] Data { get; }

    /// <summary>The message of <c>Error(string)</c>.</summary>
    public string? Message { get; private init; }

    /// <summary>The code of <c>Panic(uint256)</c>.</summary>
    public UInt256 PanicCode { get; private init; }

    /// <summary>The custom error (or the built-in Error/Panic definitions).</summary>
    public AbiError? Error { get; private init; }

    /// <summary>Decoded arguments of Error, Panic or a custom error; empty otherwise.</summary>
    public IReadOnlyList<object?> Arguments { get; private init; } = [];

    /// <summary>The 4-byte selector, when the data has one.</summary>
    public uint? Selector => Data.Length >= 4 ? AbiReader.ReadSelector(Data) : null;

    /// <summary>The known meaning of <see cref="PanicCode"/> (Solidity ≥ 0.8), or null.</summary>
    public string? PanicName => Kind == RevertKind.Panic ? AbiRevert.PanicCodeName(PanicCode) : null;

    public override string ToString() => Kind switch
    {
        RevertKind.Empty => "revert (no data)",
        RevertKind.Error => $"Error(\"{Message}\")",
        RevertKind.Panic => $"Panic(0x{PanicCode.ToString("x", null)}: {PanicName ?? "unknown code"})",
        RevertKind.Custom => $"{Error!.Name}({string.Join(", ", Arguments)})",
        _ => "revert " + Hex.Encode(Data),
    };

    internal static RevertReason Create(RevertKind kind, byte[] data, AbiError? error = null, object?[]? args = null, string? message = null, UInt256 panic = default) =>
        new(kind, data) { Error = error, Arguments = args ?? [], Message = message, PanicCode = panic };
}

/// <summary>Decodes revert data: <c>Error(string)</c>, <c>Panic(uint256)</c>, custom errors, or raw.</summary>
public static class AbiRevert
{
    /// <summary><c>Error(string)</c>, selector 0x08c379a0.</summary>
    public static AbiError ErrorString { get; } = AbiError.Parse("Error(string)");

    /// <summary><c>Panic(uint256)</c>, selector 0x4e487b71.</summary>
    public static AbiError Panic { get; } = AbiError.Parse("Panic(uint256)");

    /// <summary>The Solidity meaning of a panic code, or null for an unknown code.</summary>
    public static string? PanicCodeName(UInt256 code)
    {
        if (!code.FitsInUInt64) return null;
        return code.u0 switch
        {
            0x00 => "generic compiler panic",
            0x01 => "assertion failed",
            0x11 => "arithmetic overflow or underflow",
            0x12 => "division or modulo by zero",
            0x21 => "invalid enum value",
            0x22 => "corrupted storage byte array encoding",
            0x31 => "pop on empty array",
            0x32 => "array index out of bounds",
            0x41 => "out of memory (too large allocation)",
            0x51 => "call to zero-initialized internal function",
            _ => null,
        };
    }

    /// <summary>
    /// Decodes revert data. Custom errors are looked up by selector in <paramref name="abi"/>. Data that does not
    /// decode strictly as its selector says is returned as <see cref="RevertKind.Unknown"/> (never throws).
    /// </summary>
    public static RevertReason Decode(ReadOnlySpan<byte> data, ContractAbi? abi = null)
    {
        var raw = data.ToArray();
        if (data.Length == 0) return RevertReason.Create(RevertKind.Empty, raw);
        if (data.Length < 4) return RevertReason.Create(RevertKind.Unknown, raw);
        uint selector = AbiReader.ReadSelector(data);
        try
        {
            if (selector == ErrorString.Selector)
            {
                var args = ErrorString.Decode(data);
                return RevertReason.Create(RevertKind.Error, raw, ErrorString, args, message: (string)args[0]!);
            }
            if (selector == Panic.Selector)
            {
                var args = Panic.Decode(data);
                return RevertReason.Create(RevertKind.Panic, raw, Panic, args, panic: (UInt256)args[0]!);
            }
            if (abi is not null && abi.TryGetError(selector, out var error))
                return RevertReason.Create(RevertKind.Custom, raw, error, error!.Decode(data));
        }
        catch (AbiDecodingException)
        {
            // malformed: fall through to raw
        }
        return RevertReason.Create(RevertKind.Unknown, raw);
    }
}
