namespace CrossMargin.Ethereum.Abi;

/// <summary>A type string, signature or JSON ABI that is malformed or uses an unsupported type.</summary>
public sealed class AbiFormatException : FormatException
{
    public AbiFormatException(string message) : base(message) { }

    public AbiFormatException() { }

    public AbiFormatException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>A value that cannot be encoded as the requested ABI type (wrong shape, out of range, wrong length).</summary>
public sealed class AbiEncodingException : ArgumentException
{
    public AbiEncodingException(string message) : base(message) { }

    public AbiEncodingException() { }

    public AbiEncodingException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>Why ABI data was rejected.</summary>
public enum AbiDecodingError
{
    /// <summary>The data ends before a head, a length word or a tail that it declares.</summary>
    Truncated,

    /// <summary>An offset points outside the data or is not the canonical position of its tail.</summary>
    BadOffset,

    /// <summary>A length or element count exceeds what the remaining data can hold.</summary>
    BadLength,

    /// <summary>High-order bits of a word are set where the type allows none (address, uintN, offsets).</summary>
    DirtyHighBits,

    /// <summary>An intN word is not the sign extension of its low N bits.</summary>
    BadSignExtension,

    /// <summary>A bool word is neither 0 nor 1.</summary>
    BadBool,

    /// <summary>Padding after bytesN, bytes or string content is not zero.</summary>
    DirtyPadding,

    /// <summary>A string's bytes are not valid UTF-8.</summary>
    InvalidUtf8,

    /// <summary>Bytes remain after the encoding ends.</summary>
    TrailingData,

    /// <summary>The selector, topic0 or topic count does not match the definition.</summary>
    Mismatch,
}

/// <summary>ABI data that a strict decoder rejects. The only exception the decoders throw for bad input.</summary>
public sealed class AbiDecodingException : Exception
{
    public AbiDecodingException(AbiDecodingError reason, string message, int position = -1)
        : base(position >= 0 ? $"{message} (at byte {position})" : message)
    {
        Reason = reason;
        Position = position;
    }

    public AbiDecodingException() : this(AbiDecodingError.Truncated, "Invalid ABI data.") { }

    public AbiDecodingException(string message) : this(AbiDecodingError.Truncated, message) { }

    public AbiDecodingException(string message, Exception inner) : base(message, inner) { Reason = AbiDecodingError.Truncated; Position = -1; }

    /// <summary>What was wrong.</summary>
    public AbiDecodingError Reason { get; }

    /// <summary>Byte position (relative to the decoded span) where the problem was found, or -1.</summary>
    public int Position { get; }
}
