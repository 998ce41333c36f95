using CrossMargin.Ethereum;

namespace CrossMargin.Devnet;

/// <summary>One of anvil's well-known development accounts (public test keys: never use them for real funds).</summary>
public sealed class AnvilDevAccount
{
    internal AnvilDevAccount(int index, string address, string privateKeyHex)
    {
        Index = index;
        Address = Address.Parse(address);
        PrivateKeyHex = privateKeyHex;
    }

    /// <summary>The derivation index (m/44'/60'/0'/0/index of <see cref="AnvilDevAccounts.Mnemonic"/>).</summary>
    public int Index { get; }

    public Address Address { get; }

    /// <summary>The 32-byte private key as 0x-prefixed hex.</summary>
    public string PrivateKeyHex { get; }

    /// <summary>A fresh copy of the 32-byte private key.</summary>
    public byte[] PrivateKey() => Hex.Decode(PrivateKeyHex);

    public override string ToString() => $"anvil dev account {Index} {Address}";
}

/// <summary>
/// The public, well-known anvil development accounts derived from the default test mnemonic.
/// These keys are published by foundry; they are only for local devnets.
/// </summary>
public static class AnvilDevAccounts
{
    /// <summary>anvil's default development mnemonic.</summary>
    public const string Mnemonic = "test test test test test test test test test test test junk";

    public const string AnvilDevAddress0 = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
    public const string AnvilDevPrivateKey0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
    public const string AnvilDevAddress1 = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
    public const string AnvilDevPrivateKey1 = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
    public const string AnvilDevAddress2 = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";
    public const string AnvilDevPrivateKey2 = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";
    public const string AnvilDevAddress3 = "0x90F79bf6EB2c4f870365E785982E1f101E93b906";
    public const string AnvilDevPrivateKey3 = "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6";
    public const string AnvilDevAddress4 = "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65";
    public const string AnvilDevPrivateKey4 = "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a";
    public const string AnvilDevAddress5 = "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc";
    public const string AnvilDevPrivateKey5 = "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba";
    public const string AnvilDevAddress6 = "0x976EA74026E726554dB657fA54763abd0C3a0aa9";
    public const string AnvilDevPrivateKey6 = "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e";
    public const string AnvilDevAddress7 = "0x14dC79964da2C08b23698B3D3cc7Ca32193d9955";
    public const string AnvilDevPrivateKey7 = "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356";
    public const string AnvilDevAddress8 = "0x23618e81E3f5cdF7f54C3d65f7FBc0aBf5B21E8f";
    public const string AnvilDevPrivateKey8 = "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97";
    public const string AnvilDevAddress9 = "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720";
    public const string AnvilDevPrivateKey9 = "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6";

    /// <summary>The ten default accounts, index 0..9 (anvil's default --accounts 10).</summary>
    public static IReadOnlyList<AnvilDevAccount> All { get; } =
    [
        new(0, AnvilDevAddress0, AnvilDevPrivateKey0),
        new(1, AnvilDevAddress1, AnvilDevPrivateKey1),
        new(2, AnvilDevAddress2, AnvilDevPrivateKey2),
        new(3, AnvilDevAddress3, AnvilDevPrivateKey3),
        new(4, AnvilDevAddress4, AnvilDevPrivateKey4),
        new(5, AnvilDevAddress5, AnvilDevPrivateKey5),
        new(6, AnvilDevAddress6, AnvilDevPrivateKey6),
        new(7, AnvilDevAddress7, AnvilDevPrivateKey7),
        new(8, AnvilDevAddress8, AnvilDevPrivateKey8),
        new(9, AnvilDevAddress9, AnvilDevPrivateKey9),
    ];

    /// <summary>Account 0, anvil's default sender.</summary>
    public static AnvilDevAccount Deployer => All[0];
}
