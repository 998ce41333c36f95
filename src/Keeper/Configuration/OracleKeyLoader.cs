using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Signing;

namespace CrossMargin.Keeper.Configuration;

/// <summary>
/// Loads the optional separate key of the oracle pusher: a keystore v3 file (<c>Keeper:Oracle:KeystorePath</c>) with its
/// password from an environment variable or a file, or — only with <c>Keeper:AllowRawKey</c> — a raw hex key from
/// <c>Keeper:Oracle:RawKeyEnv</c>. Without either, the pusher shares the keeper's key and executor. Messages never
/// contain secrets.
/// </summary>
public static class OracleKeyLoader
{
    private const string S = OracleConfigOptions.Section;

    /// <summary>The pusher's own key, or null to share the keeper's (also when the pusher does not run).</summary>
    /// <param name="options">The keeper options.</param>
    /// <param name="settings">The validated settings (the pusher runs only with <see cref="OracleSettings.Push"/>).</param>
    /// <param name="keeper">The keeper's address: a separate key must be another account.</param>
    /// <param name="environment">Environment lookup.</param>
    public static PrivateKey? Load(KeeperOptions options, KeeperSettings settings, Address keeper, Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(environment);
        if (settings.Oracle is not { Push: true }) return null;
        OracleConfigOptions o = options.Oracle;
        string? raw = environment(o.RawKeyEnv);
        if (!string.IsNullOrEmpty(raw) && !options.AllowRawKey)
            throw new KeeperConfigurationException($"A raw private key in {o.RawKeyEnv} is refused: use a keystore ({S}:KeystorePath), or set Keeper:AllowRawKey=true on a development chain only.");

        PrivateKey? key = null;
        if (!string.IsNullOrWhiteSpace(o.KeystorePath)) key = FromKeystore(o, environment);
        else if (!string.IsNullOrEmpty(raw))
        {
            try
            {
                key = PrivateKey.FromHex(raw.Trim());
            }
            catch (Exception e) when (e is FormatException or ArgumentException or HexFormatException or SignatureException)
            {
                throw new KeeperConfigurationException($"{o.RawKeyEnv}: not a valid 32-byte hex private key.");
            }
        }
        if (key is not null && key.Address == keeper)
        {
            key.Dispose();
            throw new KeeperConfigurationException($"{S}:KeystorePath: the pusher key is the keeper's own key ({keeper}); leave it unset to share the keeper's executor (two executors must not send from one account).");
        }
        return key;
    }

    private static PrivateKey FromKeystore(OracleConfigOptions o, Func<string, string?> environment)
    {
        string json;
        try
        {
            json = File.ReadAllText(o.KeystorePath!);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new KeeperConfigurationException($"{S}:KeystorePath: cannot read '{o.KeystorePath}': {e.Message}");
        }
        string? password = environment(o.KeystorePasswordEnv);
        if (password is null && !string.IsNullOrWhiteSpace(o.KeystorePasswordFile))
        {
            try
            {
                password = File.ReadAllText(o.KeystorePasswordFile).TrimEnd('\r', '\n');
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
            {
                throw new KeeperConfigurationException($"{S}:KeystorePasswordFile: cannot read '{o.KeystorePasswordFile}': {e.Message}");
            }
        }
        if (password is null)
            throw new KeeperConfigurationException($"No password for {S}:KeystorePath: set {o.KeystorePasswordEnv} or {S}:KeystorePasswordFile.");
        try
        {
            return Keystore.Decrypt(json, password);
        }
        catch (KeystoreException e)
        {
            throw new KeeperConfigurationException($"{S}:KeystorePath: cannot decrypt '{o.KeystorePath}' ({e.Error}): wrong password or damaged keystore.");
        }
    }
}
