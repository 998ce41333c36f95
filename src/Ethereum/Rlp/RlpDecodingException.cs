namespace CrossMargin.Ethereum.Rlp;

/// <summary>Why a strict RLP decode rejected its input.</summary>
public enum RlpErrorReason
{
    /// <summary>The input ended before a prefix, a length or a payload was complete.</summary>
    UnexpectedEnd,

    /// <summary>A declared length runs past the end of the input.</summary>
    LengthBeyondInput,

    /// <summary>A payload shorter than 56 bytes written in the long form (0xb8.. / 0xf8..).</summary>
    NonCanonicalLongForm,

    /// <summary>A single byte below 0x80 wrapped as 0x81 xx instead of standing for itself.</summary>
    SingleByteWrapped,

    /// <summary>A long-form length whose big-endian length bytes start with zero.</summary>
    LeadingZeroInLength,

    /// <summary>Bytes left after the top-level item.</summary>
    TrailingBytes,

    /// <summary>A list whose payload does not contain exactly its items.</summary>
    ListPayloadMismatch,

    /// <summary>An integer with leading zero bytes (zero must be the empty string 0x80).</summary>
    NonCanonicalInteger,

    /// <summary>An integer wider than its target type.</summary>
    IntegerOverflow,

    /// <summary>A list where a string was expected.</summary>
    ExpectedString,

    /// <summary>A string where a list was expected.</summary>
    ExpectedList,

    /// <summary>A string of the wrong fixed length (an address, a hash).</summary>
    UnexpectedLength,

    /// <summary>Lists nested deeper than the decoder allows.</summary>
    NestingTooDeep,

    /// <summary>A value outside the domain of its field (e.g. a y-parity other than 0 or 1).</summary>
    InvalidValue,
}

/// <summary>Input that is not canonical RLP, or not the RLP shape the caller expects.</summary>
public sealed class RlpDecodingException : FormatException
{
    public RlpDecodingException() : this(RlpErrorReason.InvalidValue, -1, "Invalid RLP.") { }

    public RlpDecodingException(string message) : this(RlpErrorReason.InvalidValue, -1, message) { }

    public RlpDecodingException(string message, Exception inner) : base(message, inner)
    {
        Reason = RlpErrorReason.InvalidValue;
        Position = -1;
    }

    public RlpDecodingException(RlpErrorReason reason, int position, string message)
        : base(position >= 0 ? $"{message} (reason {reason}, at byte {position})" : $"{message} (reason {reason})")
    {
        Reason = reason;
        Position = position;
    }

    /// <summary>The rule the input broke.</summary>
    public RlpErrorReason Reason { get; }

    /// <summary>Offset in the input where the offending item starts, or -1 if unknown.</summary>
    public int Position { get; }
}
