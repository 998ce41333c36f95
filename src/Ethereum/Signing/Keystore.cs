using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using CrossMargin.Ethereum.Crypto;
using Org.BouncyCastle.Crypto.Generators;

namespace CrossMargin.Ethereum.Signing;

/// <summary>Why a keystore could not be read.</summary>
public enum KeystoreError
{
    /// <summary>Not JSON, or a required member is missing or of the wrong kind.</summary>
    MalformedJson,

    /// <summary>Not a version 3 keystore.</summary>
    UnsupportedVersion,

    /// <summary>A cipher other than aes-128-ctr.</summary>
    UnsupportedCipher,

    /// <summary>A KDF other than scrypt or pbkdf2 (hmac-sha256).</summary>
    UnsupportedKdf,

    /// <summary>Parameters that are invalid in themselves (bad hex, wrong lengths, n not a power of two, dklen below 32).</summary>
    InvalidParameters,

    /// <summary>KDF parameters beyond the configured bounds (would hang or exhaust memory).</summary>
    KdfParametersOutOfBounds,

    /// <summary>The MAC does not match: wrong password or corrupted file.</summary>
    MacMismatch,

    /// <summary>The decrypted bytes are not a valid private key.</summary>
    InvalidKey,

    /// <summary>The key does not belong to the address the file names.</summary>
    AddressMismatch,
}

/// <summary>A keystore that cannot be read or decrypted. Messages never contain the password or key material.</summary>
public sealed class KeystoreException : Exception
{
    public KeystoreException() : this(KeystoreError.MalformedJson, "Invalid keystore.") { }

    public KeystoreException(string message) : this(KeystoreError.MalformedJson, message) { }

    public KeystoreException(string message, Exception inner) : base(message, inner) { }

    public KeystoreException(KeystoreError error, string message, Exception? inner = null) : base(message, inner) => Error = error;

    public KeystoreError Error { get; }
}

/// <summary>Key-derivation settings for writing a keystore.</summary>
public sealed record KeystoreKdf
{
    private KeystoreKdf(string name, int n, int r, int p, int c)
    {
        Name = name;
        N = n;
        R = r;
        P = p;
        C = c;
    }

    /// <summary>"scrypt" or "pbkdf2".</summary>
    public string Name { get; }

    public int N { get; }

    public int R { get; }

    public int P { get; }

    /// <summary>pbkdf2 iteration count.</summary>
    public int C { get; }

    /// <summary>scrypt with cost <paramref name="n"/> (a power of two), block size <paramref name="r"/>, parallelism <paramref name="p"/>.</summary>
    public static KeystoreKdf Scrypt(int n, int r, int p)
    {
        if (n < 2 || (n & (n - 1)) != 0) throw new ArgumentOutOfRangeException(nameof(n), "scrypt n must be a power of two ≥ 2.");
        ArgumentOutOfRangeException.ThrowIfLessThan(r, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(p, 1);
        return new KeystoreKdf("scrypt", n, r, p, 0);
    }

    /// <summary>PBKDF2-HMAC-SHA256 with <paramref name="iterations"/> rounds.</summary>
    public static KeystoreKdf Pbkdf2(int iterations)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, 1);
        return new KeystoreKdf("pbkdf2", 0, 0, 0, iterations);
    }

    /// <summary>geth's standard scrypt: n = 2^18, r = 8, p = 1 (about 256 MiB, ~1 s).</summary>
    public static KeystoreKdf StandardScrypt { get; } = Scrypt(1 << 18, 8, 1);

    /// <summary>geth's light scrypt: n = 2^12, r = 8, p = 6.</summary>
    public static KeystoreKdf LightScrypt { get; } = Scrypt(1 << 12, 8, 6);
}

/// <summary>Upper bounds on KDF work accepted when reading a keystore.</summary>
public sealed record KeystoreLimits
{
    /// <summary>Largest scrypt n (default 2^20).</summary>
    public int MaxScryptN { get; init; } = 1 << 20;

    /// <summary>Largest scrypt r (default 32).</summary>
    public int MaxScryptR { get; init; } = 32;

    /// <summary>Largest scrypt p (default 16).</summary>
    public int MaxScryptP { get; init; } = 16;

    /// <summary>Largest scrypt working memory 128·n·r in bytes (default 1 GiB).</summary>
    public long MaxScryptMemoryBytes { get; init; } = 1L << 30;

    /// <summary>Largest total scrypt work n·r·p (default 2^24, 8× geth's standard).</summary>
    public long MaxScryptWork { get; init; } = 1L << 24;

    /// <summary>Largest pbkdf2 iteration count (default 10,000,000).</summary>
    public int MaxPbkdf2Iterations { get; init; } = 10_000_000;

    public static KeystoreLimits Default { get; } = new();
}

/// <summary>
/// Web3 Secret Storage (keystore v3): aes-128-ctr under a scrypt or PBKDF2-HMAC-SHA256 derived key,
/// MAC = keccak256(derivedKey[16..32] ‖ ciphertext). Passwords are NFKC-normalized UTF-8, as ethers does
/// (identical to geth's raw bytes for ASCII passwords).
/// </summary>
public static class Keystore
{
    private const int DkLen = 32;
    private const int MaxSaltBytes = 1024;

    /// <summary>Encrypts <paramref name="key"/> into keystore v3 JSON.</summary>
    public static string Encrypt(PrivateKey key, string password, KeystoreKdf? kdf = null)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(password);
        kdf ??= KeystoreKdf.StandardScrypt;
        byte[] salt = RandomNumberGenerator.GetBytes(32);
        byte[] iv = RandomNumberGenerator.GetBytes(16);
        byte[] derived = Derive(password, kdf.Name, salt, kdf.N, kdf.R, kdf.P, kdf.C);
        byte[] plain = GC.AllocateArray<byte>(PrivateKey.Size, pinned: true);
        byte[] cipherText = new byte[PrivateKey.Size];
        try
        {
            key.ExportTo(plain);
            AesCtr(derived.AsSpan(0, 16), iv, plain, cipherText);
            Hash32 mac = Mac(derived, cipherText);

            using var stream = new MemoryStream();
            using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = false }))
            {
                w.WriteStartObject();
                w.WriteString("address", key.Address.ToLowerHex()[2..]);
                w.WriteString("id", Guid.NewGuid().ToString("D"));
                w.WriteNumber("version", 3);
                w.WriteStartObject("crypto");
                w.WriteString("cipher", "aes-128-ctr");
                w.WriteStartObject("cipherparams");
                w.WriteString("iv", Convert.ToHexStringLower(iv));
                w.WriteEndObject();
                w.WriteString("ciphertext", Convert.ToHexStringLower(cipherText));
                w.WriteString("kdf", kdf.Name);
                w.WriteStartObject("kdfparams");
                w.WriteNumber("dklen", DkLen);
                if (kdf.Name == "scrypt")
                {
                    w.WriteNumber("n", kdf.N);
                    w.WriteNumber("p", kdf.P);
                    w.WriteNumber("r", kdf.R);
                }
                else
                {
                    w.WriteNumber("c", kdf.C);
                    w.WriteString("prf", "hmac-sha256");
                }
                w.WriteString("salt", Convert.ToHexStringLower(salt));
                w.WriteEndObject();
                w.WriteString("mac", Convert.ToHexStringLower(mac.ToArray()));
                w.WriteEndObject();
                w.WriteEndObject();
            }
            return Encoding.UTF8.GetString(stream.ToArray());
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plain);
            CryptographicOperations.ZeroMemory(derived);
        }
    }

    /// <summary>Decrypts keystore v3 JSON. Wrong password: <see cref="KeystoreException"/> with <see cref="KeystoreError.MacMismatch"/>.</summary>
    public static PrivateKey Decrypt(string json, string password, KeystoreLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(json);
        ArgumentNullException.ThrowIfNull(password);
        limits ??= KeystoreLimits.Default;
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException e)
        {
            throw new KeystoreException(KeystoreError.MalformedJson, "Keystore is not valid JSON.", e);
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw Malformed("Keystore JSON must be an object.");
            if (!root.TryGetProperty("version", out var version) || version.ValueKind != JsonValueKind.Number || !version.TryGetInt32(out int ver))
                throw Malformed("Keystore has no numeric version.");
            if (ver != 3) throw new KeystoreException(KeystoreError.UnsupportedVersion, $"Keystore version {ver} is not supported (only 3).");
            var crypto = Member(root, "crypto", JsonValueKind.Object, alternate: "Crypto");

            string cipher = Member(crypto, "cipher", JsonValueKind.String).GetString()!;
            if (cipher != "aes-128-ctr") throw new KeystoreException(KeystoreError.UnsupportedCipher, "Only the aes-128-ctr cipher is supported.");
            byte[] iv = HexField(Member(Member(crypto, "cipherparams", JsonValueKind.Object), "iv", JsonValueKind.String), "iv");
            if (iv.Length != 16) throw Invalid("iv must be 16 bytes.");
            byte[] cipherText = HexField(Member(crypto, "ciphertext", JsonValueKind.String), "ciphertext");
            if (cipherText.Length != PrivateKey.Size) throw Invalid("ciphertext must be 32 bytes.");
            byte[] macBytes = HexField(Member(crypto, "mac", JsonValueKind.String), "mac");
            if (macBytes.Length != 32) throw Invalid("mac must be 32 bytes.");

            string kdf = Member(crypto, "kdf", JsonValueKind.String).GetString()!;
            var kp = Member(crypto, "kdfparams", JsonValueKind.Object);
            int dklen = IntField(kp, "dklen");
            if (dklen != DkLen) throw Invalid("dklen must be 32.");
            byte[] salt = HexField(Member(kp, "salt", JsonValueKind.String), "salt");
            if (salt.Length is 0 or > MaxSaltBytes) throw Invalid("salt must be 1 to 1024 bytes.");

            int n = 0, r = 0, p = 0, c = 0;
            if (kdf == "scrypt")
            {
                n = IntField(kp, "n");
                r = IntField(kp, "r");
                p = IntField(kp, "p");
                if (n < 2 || (n & (n - 1)) != 0 || r < 1 || p < 1) throw Invalid("scrypt needs n a power of two ≥ 2 and r, p ≥ 1.");
                if (n > limits.MaxScryptN || r > limits.MaxScryptR || p > limits.MaxScryptP
                    || 128L * n * r > limits.MaxScryptMemoryBytes || (long)n * r * p > limits.MaxScryptWork)
                {
                    throw new KeystoreException(KeystoreError.KdfParametersOutOfBounds, $"scrypt parameters n={n} r={r} p={p} exceed the configured limits.");
                }
            }
            else if (kdf == "pbkdf2")
            {
                c = IntField(kp, "c");
                string prf = Member(kp, "prf", JsonValueKind.String).GetString()!;
                if (prf != "hmac-sha256") throw new KeystoreException(KeystoreError.UnsupportedKdf, "Only pbkdf2 with hmac-sha256 is supported.");
                if (c < 1) throw Invalid("pbkdf2 c must be at least 1.");
                if (c > limits.MaxPbkdf2Iterations) throw new KeystoreException(KeystoreError.KdfParametersOutOfBounds, $"pbkdf2 c={c} exceeds the configured limit.");
            }
            else
            {
                throw new KeystoreException(KeystoreError.UnsupportedKdf, "Only the scrypt and pbkdf2 KDFs are supported.");
            }

            Address? expected = null;
            if (root.TryGetProperty("address", out var addr) && addr.ValueKind == JsonValueKind.String)
            {
                string a = addr.GetString()!;
                if (!a.StartsWith("0x", StringComparison.Ordinal)) a = "0x" + a;
                if (!Address.TryParse(a.ToLowerInvariant(), out var parsed)) throw Invalid("address is not 20 bytes of hex.");
                expected = parsed;
            }

            byte[] derived = Derive(password, kdf, salt, n, r, p, c);
            byte[] plain = GC.AllocateArray<byte>(PrivateKey.Size, pinned: true);
            try
            {
                Hash32 mac = Mac(derived, cipherText);
                Span<byte> computed = stackalloc byte[32];
                mac.CopyTo(computed);
                if (!CryptographicOperations.FixedTimeEquals(computed, macBytes))
                    throw new KeystoreException(KeystoreError.MacMismatch, "Keystore MAC mismatch: wrong password or corrupted file.");
                AesCtr(derived.AsSpan(0, 16), iv, cipherText, plain);
                PrivateKey key;
                try
                {
                    key = new PrivateKey(plain);
                }
                catch (ArgumentException)
                {
                    throw new KeystoreException(KeystoreError.InvalidKey, "Keystore decrypts to an invalid private key.");
                }
                if (expected is { } e && e != key.Address)
                {
                    key.Dispose();
                    throw new KeystoreException(KeystoreError.AddressMismatch, $"Keystore key does not belong to the address it names ({e}).");
                }
                return key;
            }
            finally
            {
                CryptographicOperations.ZeroMemory(plain);
                CryptographicOperations.ZeroMemory(derived);
            }
        }
    }

    private static byte[] Derive(string password, string kdf, byte[] salt, int n, int r, int p, int c)
    {
        byte[] pw = Encoding.UTF8.GetBytes(password.Normalize(NormalizationForm.FormKC));
        try
        {
            return kdf == "scrypt"
                ? SCrypt.Generate(pw, salt, n, r, p, DkLen)
                : Rfc2898DeriveBytes.Pbkdf2(pw, salt, c, HashAlgorithmName.SHA256, DkLen);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(pw);
        }
    }

    private static Hash32 Mac(byte[] derived, byte[] cipherText)
    {
        var hasher = new Keccak256Hasher();
        hasher.Update(derived.AsSpan(16, 16));
        hasher.Update(cipherText);
        return hasher.Finish();
    }

    /// <summary>AES-128 in counter mode: the 16-byte IV is a big-endian counter incremented per block.</summary>
    internal static void AesCtr(ReadOnlySpan<byte> key16, ReadOnlySpan<byte> iv16, ReadOnlySpan<byte> input, Span<byte> output)
    {
        using var aes = Aes.Create();
        aes.Key = key16.ToArray();
        Span<byte> counter = stackalloc byte[16];
        Span<byte> stream = stackalloc byte[16];
        iv16.CopyTo(counter);
        for (int offset = 0; offset < input.Length; offset += 16)
        {
            aes.EncryptEcb(counter, stream, PaddingMode.None);
            int n = Math.Min(16, input.Length - offset);
            for (int i = 0; i < n; i++) output[offset + i] = (byte)(input[offset + i] ^ stream[i]);
            for (int i = 15; i >= 0 && ++counter[i] == 0; i--) { }
        }
        CryptographicOperations.ZeroMemory(stream);
    }

    private static KeystoreException Malformed(string message) => new(KeystoreError.MalformedJson, message);

    private static KeystoreException Invalid(string message) => new(KeystoreError.InvalidParameters, message);

    private static JsonElement Member(JsonElement obj, string name, JsonValueKind kind, string? alternate = null)
    {
        if ((obj.TryGetProperty(name, out var v) || (alternate is not null && obj.TryGetProperty(alternate, out v))) && v.ValueKind == kind) return v;
        throw Malformed($"Keystore member '{name}' is missing or not a JSON {kind.ToString().ToLowerInvariant()}.");
    }

    private static int IntField(JsonElement obj, string name)
    {
        var v = Member(obj, name, JsonValueKind.Number);
        if (!v.TryGetInt32(out int i)) throw new KeystoreException(KeystoreError.KdfParametersOutOfBounds, $"Keystore parameter '{name}' is not a 32-bit integer.");
        return i;
    }

    private static byte[] HexField(JsonElement e, string name)
    {
        string s = e.GetString()!;
        if (s.StartsWith("0x", StringComparison.Ordinal)) s = s[2..];
        if ((s.Length & 1) != 0 || s.Length > 2 * MaxSaltBytes) throw Invalid($"'{name}' is not even-length hex of a sane size.");
        try
        {
            return Convert.FromHexString(s);
        }
        catch (FormatException)
        {
            throw Invalid($"'{name}' is not hex.");
        }
    }
}
