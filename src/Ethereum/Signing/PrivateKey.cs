using System.Diagnostics;
using System.Security.Cryptography;
using CrossMargin.Ethereum.Numerics;
using BigInteger = Org.BouncyCastle.Math.BigInteger;

namespace CrossMargin.Ethereum.Signing;

/// <summary>
/// A secp256k1 private key (32 bytes, 0 &lt; k &lt; n). The key bytes live in a pinned buffer that
/// <see cref="Dispose"/> zeroes; <see cref="ToString"/>, the debugger display and every exception
/// message show the address only, never the key.
/// </summary>
[DebuggerDisplay("{ToString(),nq}")]
public sealed class PrivateKey : IDisposable
{
    public const int Size = 32;

    private readonly byte[] _key;
    private readonly byte[] _publicKey;
    private bool _disposed;

    /// <summary>Copies and validates a 32-byte big-endian scalar.</summary>
    /// <exception cref="ArgumentException">Not 32 bytes, zero, or not below the curve order.</exception>
    public PrivateKey(ReadOnlySpan<byte> key32)
    {
        if (key32.Length != Size) throw new ArgumentException($"A private key is exactly {Size} bytes.", nameof(key32));
        var k = UInt256.ReadBigEndian(key32);
        if (k.IsZero || k >= Secp256k1.NValue)
            throw new ArgumentException("A private key must be greater than zero and below the secp256k1 group order.", nameof(key32));
        _key = GC.AllocateArray<byte>(Size, pinned: true);
        key32.CopyTo(_key);
        _publicKey = new byte[64];
        Secp256k1.PublicKey(Scalar(), _publicKey);
        Address = Address.FromPublicKey(_publicKey);
    }

    /// <summary>Parses "0x" + 64 hex digits. The text is not echoed in any error.</summary>
    public static PrivateKey FromHex(ReadOnlySpan<char> hex)
    {
        Span<byte> b = stackalloc byte[Size];
        try
        {
            if (!Hex.TryDecodeExact(hex, b))
                throw new ArgumentException("A private key in hex is 0x followed by 64 hex digits.", nameof(hex));
            return new PrivateKey(b);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(b);
        }
    }

    /// <summary>A new random key from the system CSPRNG.</summary>
    public static PrivateKey Generate()
    {
        Span<byte> b = stackalloc byte[Size];
        try
        {
            while (true)
            {
                RandomNumberGenerator.Fill(b);
                var k = UInt256.ReadBigEndian(b);
                if (!k.IsZero && k < Secp256k1.NValue) return new PrivateKey(b);
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(b);
        }
    }

    /// <summary>The account address of this key.</summary>
    public Address Address { get; }

    /// <summary>The 64-byte uncompressed public key x || y (no 0x04 prefix).</summary>
    public ReadOnlySpan<byte> PublicKey => _publicKey;

    /// <summary>Signs a 32-byte digest: RFC 6979 nonce, low s, recovery id from R.</summary>
    public EcdsaSignature Sign(Hash32 hash)
    {
        Span<byte> h = stackalloc byte[32];
        hash.CopyTo(h);
        return Secp256k1.Sign(Scalar(), h);
    }

    /// <summary>Signs and then recovers the signature, throwing unless it recovers to <see cref="Address"/>.</summary>
    public EcdsaSignature SignChecked(Hash32 hash)
    {
        var sig = Sign(hash);
        if (!Ecdsa.TryEcRecover(hash, sig.R, sig.S, sig.YParity, out var recovered) || recovered != Address)
            throw new SignatureException(SignatureError.SelfCheckFailed, Ecdsa.Describe(SignatureError.SelfCheckFailed));
        return sig;
    }

    /// <summary>Copies the raw key bytes out (for keystore encryption). The caller must zero the destination.</summary>
    public void ExportTo(Span<byte> destination32)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (destination32.Length < Size) throw new ArgumentException("Destination needs 32 bytes.", nameof(destination32));
        _key.CopyTo(destination32);
    }

    private BigInteger Scalar()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return new BigInteger(1, _key);
    }

    /// <summary>Zeroes the key bytes; the key can no longer sign.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        CryptographicOperations.ZeroMemory(_key);
        _disposed = true;
    }

    /// <summary>Shows the address only.</summary>
    public override string ToString() => $"PrivateKey({Address})";
}
