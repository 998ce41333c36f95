using CrossMargin.Contracts;
using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Contracts;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Ethereum.Rpc;
using CrossMargin.Ethereum.Signing;
using CrossMargin.Ethereum.Transactions;

namespace CrossMargin.Devnet.Tests.Protocol;

/// <summary>
/// One anvil per test class: the protocol deployed with the devnet defaults and <see cref="SeededAccounts"/>
/// accounts seeded (seed <see cref="Seed"/>). Tests that change state wrap themselves in <see cref="IsolateAsync"/>
/// (evm_snapshot / evm_revert).
/// </summary>
public class ProtocolDevnet : IAsyncLifetime
{
    public const ulong Seed = 42;

    public virtual int SeededAccounts => 200;

    public AnvilProcess Anvil { get; private set; } = null!;
    public DevnetDeployment Deployment { get; private set; } = null!;
    public DevnetSeedResult SeedResult { get; private set; } = null!;
    public JsonRpcClient Rpc { get; private set; } = null!;
    public EthClient Eth { get; private set; } = null!;
    public CrossMarginEngine Engine { get; private set; } = null!;
    public OracleHub Hub { get; private set; } = null!;

    public static AnvilOptions Options => new() { GasLimit = 1_000_000_000, Accounts = 3 };

    public async Task InitializeAsync()
    {
        Anvil = await AnvilProcess.StartAsync(Options);
        Rpc = new JsonRpcClient(Anvil.RpcUrl, timeout: TimeSpan.FromSeconds(120));
        Eth = new EthClient(Rpc);
        Deployment = await DevnetDeployer.DeployAsync(Anvil.RpcUrl, Anvil.ChainId, wsUrl: Anvil.WsUrl);
        if (SeededAccounts > 0)
        {
            SeedResult = await DevnetSeeder.SeedAsync(Deployment, new DevnetSeedOptions { Accounts = SeededAccounts, Seed = Seed });
            Deployment = Deployment with { AccountSeed = Seed, Accounts = SeedResult.Addresses.ToArray() };
        }

        Engine = new CrossMarginEngine(Deployment.Engine);
        Hub = new OracleHub(Deployment.OracleHub);
    }

    public async Task DisposeAsync()
    {
        Rpc?.Dispose();
        if (Anvil is not null) await Anvil.DisposeAsync();
    }

    /// <summary>A sender for a dev account (index 0 = deployer, which holds every role), with fresh nonce tracking.</summary>
    public TransactionSender Sender(int devAccount = 0) =>
        new(Eth, new LocalTxSigner(PrivateKey.FromHex(AnvilDevAccounts.All[devAccount].PrivateKeyHex), ownsKey: true), Anvil.ChainId,
            new TransactionSenderOptions { PriorityFee = 1_000_000_000UL });

    public PriceDriver Prices(TransactionSender sender)
    {
        var driver = new PriceDriver(Deployment, sender, Rpc);
        return driver;
    }

    /// <summary>Runs <paramref name="body"/> and reverts the chain to the state before it.</summary>
    public async Task IsolateAsync(Func<Task> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        UInt256 snapshot = await Rpc.SnapshotAsync();
        try
        {
            await body();
        }
        finally
        {
            Assert.True(await Rpc.RevertAsync(snapshot));
        }
    }

    /// <summary>A price driver that knows the initial prices (as the deployer pushed them).</summary>
    public async Task<PriceDriver> DriverAtInitialPricesAsync(TransactionSender sender)
    {
        var driver = Prices(sender);
        await driver.SetPricesAsync(DevnetDefaults.Oracles.ToDictionary(o => o.Symbol, o => o.InitialPrice));
        return driver;
    }
}
