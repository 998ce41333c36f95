using CrossMargin.Ethereum.Numerics;

namespace CrossMargin.Ethereum.Signing;

/// <summary>Public-key recovery (ecrecover) for secp256k1 signatures.</summary>
public static class Ecdsa
{
    /// <summary>The group order n of secp256k1.</summary>
    public static UInt256 CurveOrder => Secp256k1.NValue;

    /// <summary>n / 2: the largest s accepted under EIP-2's low-s rule.</summary>
    public static UInt256 HalfCurveOrder => Secp256k1.HalfNValue;

    /// <summary>
    /// Recovers the signer's address. Strict: 0 &lt; r, s &lt; n; y parity 0 or 1; and, unless
    /// <paramref name="requireLowS"/> is false (the ecrecover precompile's rule), s ≤ n/2.
    /// </summary>
    /// <exception cref="SignatureException">The signature does not designate a key.</exception>
    public static Address EcRecover(Hash32 hash, UInt256 r, UInt256 s, byte yParity, bool requireLowS = true)
    {
        if (yParity > 1) throw new SignatureException(SignatureError.InvalidRecoveryId, "y parity must be 0 or 1.");
        Span<byte> pub = stackalloc byte[64];
        RecoverPublicKey(hash, r, s, yParity, requireLowS, pub);
        return Address.FromPublicKey(pub);
    }

    /// <summary>Recovers the signer's address from a signature with its recovery id.</summary>
    public static Address EcRecover(Hash32 hash, EcdsaSignature signature, bool requireLowS = true)
    {
        Span<byte> pub = stackalloc byte[64];
        RecoverPublicKey(hash, signature.R, signature.S, signature.RecoveryId, requireLowS, pub);
        return Address.FromPublicKey(pub);
    }

    /// <summary>Recovers the 64-byte uncompressed public key (x || y). <paramref name="recoveryId"/> is 0..3.</summary>
    public static void RecoverPublicKey(Hash32 hash, UInt256 r, UInt256 s, int recoveryId, bool requireLowS, Span<byte> publicKey64)
    {
        if (publicKey64.Length < 64) throw new ArgumentException("Destination needs 64 bytes.", nameof(publicKey64));
        Span<byte> h = stackalloc byte[32];
        hash.CopyTo(h);
        if (!Secp256k1.TryRecover(h, r, s, recoveryId, requireLowS, publicKey64, out var error))
            throw new SignatureException(error, Describe(error));
    }

    /// <summary>Like <see cref="EcRecover(Hash32, UInt256, UInt256, byte, bool)"/> but returns false instead of throwing.</summary>
    public static bool TryEcRecover(Hash32 hash, UInt256 r, UInt256 s, byte yParity, out Address address, bool requireLowS = true)
    {
        address = default;
        if (yParity > 1) return false;
        Span<byte> h = stackalloc byte[32];
        hash.CopyTo(h);
        Span<byte> pub = stackalloc byte[64];
        if (!Secp256k1.TryRecover(h, r, s, yParity, requireLowS, pub, out _)) return false;
        address = Address.FromPublicKey(pub);
        return true;
    }

    internal static string Describe(SignatureError error) => error switch
    {
        SignatureError.ROutOfRange => "Signature r is not in 1..n-1.",
        SignatureError.SOutOfRange => "Signature s is not in 1..n-1.",
        SignatureError.HighS => "Signature s is above n/2 (EIP-2 requires low s).",
        SignatureError.InvalidRecoveryId => "Recovery id does not designate a curve point.",
        SignatureError.NotOnCurve => "r is not the x coordinate of a curve point.",
        SignatureError.PointAtInfinity => "The recovered key is the point at infinity.",
        SignatureError.SelfCheckFailed => "The signature does not recover to the signing key's address.",
        _ => "Invalid signature.",
    };
}
