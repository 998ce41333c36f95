using CrossMargin.Ethereum.Numerics;

namespace CrossMargin.Ethereum.Signing;

/// <summary>A secp256k1 ECDSA signature with its recovery id (y parity of R; bit 1 set only when R.x ≥ n).</summary>
public readonly struct EcdsaSignature : IEquatable<EcdsaSignature>
{
    public EcdsaSignature(UInt256 r, UInt256 s, byte recoveryId)
    {
        if (recoveryId > 3) throw new ArgumentOutOfRangeException(nameof(recoveryId), "A recovery id is 0..3.");
        R = r;
        S = s;
        RecoveryId = recoveryId;
    }

    public UInt256 R { get; }

    public UInt256 S { get; }

    /// <summary>0..3; for every signature met in practice 0 or 1 (the y parity).</summary>
    public byte RecoveryId { get; }

    /// <summary>The y parity carried by transactions (bit 0 of the recovery id).</summary>
    public byte YParity => (byte)(RecoveryId & 1);

    /// <summary>Whether s is in the lower half of the group order (EIP-2).</summary>
    public bool IsLowS => S <= Secp256k1.HalfNValue;

    /// <summary>Writes r || s || v (65 bytes) with v = 27 + y parity, as eth_sign / personal_sign return it.</summary>
    public void WriteCompact(Span<byte> destination65)
    {
        if (destination65.Length < 65) throw new ArgumentException("Destination needs 65 bytes.", nameof(destination65));
        R.WriteBigEndian(destination65[..32]);
        S.WriteBigEndian(destination65[32..64]);
        destination65[64] = (byte)(27 + YParity);
    }

    public bool Equals(EcdsaSignature other) => R == other.R && S == other.S && RecoveryId == other.RecoveryId;

    public override bool Equals(object? obj) => obj is EcdsaSignature o && Equals(o);

    public override int GetHashCode() => HashCode.Combine(R, S, RecoveryId);

    public static bool operator ==(EcdsaSignature a, EcdsaSignature b) => a.Equals(b);

    public static bool operator !=(EcdsaSignature a, EcdsaSignature b) => !a.Equals(b);

    public override string ToString() => $"r={R.ToHexString()} s={S.ToHexString()} yParity={YParity}";
}
