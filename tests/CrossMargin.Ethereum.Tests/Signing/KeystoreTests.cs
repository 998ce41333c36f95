using System.Text.Json;
using System.Text.Json.Nodes;
using CrossMargin.Ethereum.Signing;
using CrossMargin.Ethereum.Tests.Transactions;

namespace CrossMargin.Ethereum.Tests.Signing;

public class KeystoreTests
{
    private const string Password = "correct horse battery staple";
    private static readonly KeystoreKdf FastScrypt = KeystoreKdf.Scrypt(1024, 8, 1);

    private static JsonElement Node(JsonArray requests, JsonDocument[] keep)
    {
        keep[0] = NodeScript.Run(Path.Combine("Signing", "ethers_keystore.cjs"), requests.ToJsonString(), TimeSpan.FromMinutes(2));
        return keep[0].RootElement;
    }

    [Fact]
    public void Round_trips_with_scrypt_and_pbkdf2()
    {
        using var key = PrivateKey.FromHex(KeyAndSignatureTests.AnvilDevKey0);
        foreach (var kdf in new[] { FastScrypt, KeystoreKdf.Pbkdf2(1000) })
        {
            string json = Keystore.Encrypt(key, Password, kdf);
            Assert.DoesNotContain(KeyAndSignatureTests.AnvilDevKey0[2..], json, StringComparison.OrdinalIgnoreCase);
            using var back = Keystore.Decrypt(json, Password);
            Assert.Equal(key.Address, back.Address);
            var ex = Assert.Throws<KeystoreException>(() => Keystore.Decrypt(json, Password + "!"));
            Assert.Equal(KeystoreError.MacMismatch, ex.Error);
        }
    }

    [Fact]
    public void Interoperates_with_ethers_both_ways()
    {
        using var key = PrivateKey.FromHex(KeyAndSignatureTests.AnvilDevKey0);
        string ours = Keystore.Encrypt(key, Password, FastScrypt);
        string oursPbkdf2 = Keystore.Encrypt(key, Password, KeystoreKdf.Pbkdf2(2048));
        var requests = new JsonArray
        {
            new JsonObject { ["op"] = "encrypt", ["key"] = KeyAndSignatureTests.AnvilDevKey0, ["password"] = Password, ["n"] = 1024 },
            new JsonObject { ["op"] = "pbkdf2", ["key"] = KeyAndSignatureTests.AnvilDevKey0, ["password"] = Password, ["c"] = 2048 },
            new JsonObject { ["op"] = "decrypt", ["json"] = ours, ["password"] = Password },
            new JsonObject { ["op"] = "decrypt", ["json"] = oursPbkdf2, ["password"] = Password },
            new JsonObject { ["op"] = "decrypt", ["json"] = ours, ["password"] = "wrong" },
        };
        var keep = new JsonDocument[1];
        try
        {
            var r = Node(requests, keep);
            // ethers-written scrypt keystore, and a hand-built pbkdf2 one, decrypt here
            foreach (int i in new[] { 0, 1 })
            {
                using var k = Keystore.Decrypt(r[i].GetProperty("json").GetString()!, Password);
                Assert.Equal(key.Address, k.Address);
                Assert.Equal(KeystoreError.MacMismatch, Assert.Throws<KeystoreException>(() => Keystore.Decrypt(r[i].GetProperty("json").GetString()!, "wrong")).Error);
            }
            // ethers decrypts ours
            foreach (int i in new[] { 2, 3 })
            {
                Assert.False(r[i].TryGetProperty("error", out var err), err.ToString());
                Assert.Equal(KeyAndSignatureTests.AnvilDevKey0, r[i].GetProperty("key").GetString());
                Assert.Equal(key.Address.ToLowerHex(), r[i].GetProperty("address").GetString());
            }
            Assert.True(r[4].TryGetProperty("error", out _));
        }
        finally
        {
            keep[0]?.Dispose();
        }
    }

    private static string Mutate(string json, Action<JsonObject> edit)
    {
        var node = JsonNode.Parse(json)!.AsObject();
        edit(node);
        return node.ToJsonString();
    }

    private static JsonObject Crypto(JsonObject root) => root["crypto"]!.AsObject();

    private static JsonObject KdfParams(JsonObject root) => Crypto(root)["kdfparams"]!.AsObject();

    [Fact]
    public void Malformed_and_hostile_files_get_typed_errors()
    {
        using var key = PrivateKey.FromHex(KeyAndSignatureTests.AnvilDevKey0);
        string json = Keystore.Encrypt(key, Password, FastScrypt);
        string pb = Keystore.Encrypt(key, Password, KeystoreKdf.Pbkdf2(100));

        void Expect(KeystoreError error, string text) =>
            Assert.Equal(error, Assert.Throws<KeystoreException>(() => Keystore.Decrypt(text, Password)).Error);

        Expect(KeystoreError.MalformedJson, "{not json");
        Expect(KeystoreError.MalformedJson, "[]");
        Expect(KeystoreError.MalformedJson, Mutate(json, r => r.Remove("crypto")));
        Expect(KeystoreError.UnsupportedVersion, Mutate(json, r => r["version"] = 1));
        Expect(KeystoreError.UnsupportedCipher, Mutate(json, r => Crypto(r)["cipher"] = "aes-128-cbc"));
        Expect(KeystoreError.UnsupportedKdf, Mutate(json, r => Crypto(r)["kdf"] = "argon2"));
        Expect(KeystoreError.UnsupportedKdf, Mutate(pb, r => KdfParams(r)["prf"] = "hmac-sha512"));
        Expect(KeystoreError.InvalidParameters, Mutate(json, r => Crypto(r)["ciphertext"] = "zz"));
        Expect(KeystoreError.InvalidParameters, Mutate(json, r => Crypto(r)["ciphertext"] = "00"));
        Expect(KeystoreError.InvalidParameters, Mutate(json, r => KdfParams(r)["n"] = 1000));
        Expect(KeystoreError.InvalidParameters, Mutate(json, r => KdfParams(r)["dklen"] = 16));
        Expect(KeystoreError.KdfParametersOutOfBounds, Mutate(json, r => KdfParams(r)["n"] = 1 << 30));
        Expect(KeystoreError.KdfParametersOutOfBounds, Mutate(json, r => KdfParams(r)["r"] = 1 << 20));
        Expect(KeystoreError.KdfParametersOutOfBounds, Mutate(json, r => KdfParams(r)["p"] = 1 << 20));
        Expect(KeystoreError.KdfParametersOutOfBounds, Mutate(json, r => KdfParams(r)["n"] = 1e40));
        Expect(KeystoreError.KdfParametersOutOfBounds, Mutate(pb, r => KdfParams(r)["c"] = int.MaxValue));
        Expect(KeystoreError.MacMismatch, Mutate(json, r => Crypto(r)["mac"] = new string('0', 64)));
        Expect(KeystoreError.AddressMismatch, Mutate(json, r => r["address"] = new string('1', 40)));
    }

    [Fact]
    public void Errors_never_carry_the_password_or_key()
    {
        using var key = PrivateKey.FromHex(KeyAndSignatureTests.AnvilDevKey0);
        string secret = "s3cr3t-P@ss";
        string json = Keystore.Encrypt(key, secret, FastScrypt);
        var ex = Assert.Throws<KeystoreException>(() => Keystore.Decrypt(json, secret + "x"));
        Assert.DoesNotContain(secret, ex.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(KeyAndSignatureTests.AnvilDevKey0[2..], ex.ToString(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Aes_ctr_matches_the_nist_sp800_38a_vector()
    {
        // NIST SP 800-38A F.5.1 CTR-AES128.Encrypt, blocks 1 and 2 (counter carries through the low bytes)
        byte[] key = Convert.FromHexString("2b7e151628aed2a6abf7158809cf4f3c");
        byte[] iv = Convert.FromHexString("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff");
        byte[] plain = Convert.FromHexString("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51");
        var output = new byte[32];
        Keystore.AesCtr(key, iv, plain, output);
        Assert.Equal("874d6191b620e3261bef6864990db6ce9806f66b7970fdff8617187bb9fffdff", Convert.ToHexStringLower(output));
    }
}
