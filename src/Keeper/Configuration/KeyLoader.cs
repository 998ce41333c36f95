using CrossMargin.Ethereum.Signing;

namespace CrossMargin.Keeper.Configuration;

/// <summary>
/// Loads the keeper key: a keystore v3 file with its password from an environment variable or a file, or — only with
/// the explicit development flag — a raw hex key from an environment variable. Messages never contain secrets.
/// </summary>
public static class KeyLoader
{
    public static PrivateKey Load(KeeperOptions options, Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(environment);
        string? raw = environment(options.RawKeyEnv);
        if (!string.IsNullOrEmpty(raw) && !options.AllowRawKey)
            throw new KeeperConfigurationException($"A raw private key in {options.RawKeyEnv} is refused: use a keystore (Keeper:KeystorePath), or set Keeper:AllowRawKey=true on a development chain only.");

        if (string.IsNullOrWhiteSpace(options.KeystorePath))
        {
            if (options.AllowRawKey && !string.IsNullOrEmpty(raw))
            {
                try
                {
                    return PrivateKey.FromHex(raw.Trim());
                }
                catch (Exception e) when (e is FormatException or ArgumentException or CrossMargin.Ethereum.HexFormatException or SignatureException)
                {
                    throw new KeeperConfigurationException($"{options.RawKeyEnv}: not a valid 32-byte hex private key.");
                }
            }
            throw new KeeperConfigurationException(options.AllowRawKey
                ? $"No keeper key: set Keeper:KeystorePath, or {options.RawKeyEnv} (development)."
                : "Keeper:KeystorePath is required (a keystore v3 file with the keeper key).");
        }

        string json;
        try
        {
            json = File.ReadAllText(options.KeystorePath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new KeeperConfigurationException($"Keeper:KeystorePath: cannot read '{options.KeystorePath}': {e.Message}");
        }

        string? password = environment(options.KeystorePasswordEnv);
        if (password is null && !string.IsNullOrWhiteSpace(options.KeystorePasswordFile))
        {
            try
            {
                password = File.ReadAllText(options.KeystorePasswordFile).TrimEnd('\r', '\n');
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
            {
                throw new KeeperConfigurationException($"Keeper:KeystorePasswordFile: cannot read '{options.KeystorePasswordFile}': {e.Message}");
            }
        }
        if (password is null)
            throw new KeeperConfigurationException($"No keystore password: set {options.KeystorePasswordEnv} or Keeper:KeystorePasswordFile.");
        try
        {
            return Keystore.Decrypt(json, password);
        }
        catch (KeystoreException e)
        {
            throw new KeeperConfigurationException($"Keeper:KeystorePath: cannot decrypt '{options.KeystorePath}' ({e.Error}): wrong password or damaged keystore.");
        }
    }
}
