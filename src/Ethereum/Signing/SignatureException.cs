namespace CrossMargin.Ethereum.Signing;

/// <summary>Why a signature was rejected.</summary>
public enum SignatureError
{
    None,
    ROutOfRange,
    SOutOfRange,
    HighS,
    InvalidRecoveryId,
    NotOnCurve,
    PointAtInfinity,

    /// <summary>A freshly made signature did not recover to the signer's own address.</summary>
    SelfCheckFailed,
}

/// <summary>A signature that is out of range, not low-s where required, or does not recover to a key.</summary>
public sealed class SignatureException : Exception
{
    public SignatureException() : this(SignatureError.None, "Invalid signature.") { }

    public SignatureException(string message) : this(SignatureError.None, message) { }

    public SignatureException(string message, Exception inner) : base(message, inner) { }

    public SignatureException(SignatureError error, string message) : base(message) => Error = error;

    public SignatureError Error { get; }
}
