using CrossMargin.Contracts;
using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Contracts;
using CrossMargin.Ethereum.Crypto;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Ethereum.Rpc;
using CrossMargin.Ethereum.Signing;

namespace CrossMargin.Devnet;

/// <summary>A collateral asset to configure (weights and fractions as WAD).</summary>
public sealed record AssetSpec(string Symbol, string Name, byte Decimals, string? Oracle, UInt256 InitialWeight, UInt256 MaintenanceWeight, UInt256 LiquidationDiscount, UInt256 DepositCap);

/// <summary>A perp market to configure (fractions and amounts as WAD).</summary>
public sealed record MarketSpec(string Symbol, string Oracle, UInt256 InitialMarginFraction, UInt256 MaintenanceMarginFraction, UInt256 MinPositionMargin,
    UInt256 TakerFee, UInt256 LiquidationPenalty, UInt256 KeeperShare, UInt256 MaxLiquidationFraction, UInt256 LiquidationBuffer);

/// <summary>An oracle id with its push-feed bounds (8 decimals) and initial price (USD).</summary>
public sealed record OracleSpec(string Symbol, string FeedDescription, long MinAnswer, long MaxAnswer, decimal InitialPrice);

/// <summary>The devnet defaults of docs/protocol.md §3.3.</summary>
public static class DevnetDefaults
{
    public static readonly UInt256 Wad = UInt256.Pow10(18);

    /// <summary>x·10^18 for a decimal x with at most 18 fractional digits.</summary>
    public static UInt256 ToWad(decimal x) => ToUnits(x, 18);

    /// <summary>floor(x·10^decimals).</summary>
    public static UInt256 ToUnits(decimal x, int decimals)
    {
        if (x < 0) throw new ArgumentOutOfRangeException(nameof(x), "negative");
        var big = new System.Numerics.BigInteger(decimal.Truncate(x)) * System.Numerics.BigInteger.Pow(10, decimals);
        decimal frac = x - decimal.Truncate(x);
        for (int i = 0; i < decimals && frac != 0; i++)
        {
            frac *= 10;
            var digit = decimal.Truncate(frac);
            big += new System.Numerics.BigInteger(digit) * System.Numerics.BigInteger.Pow(10, decimals - 1 - i);
            frac -= digit;
        }

        return (UInt256)big;
    }

    public static Hash32 OracleId(string symbol) => Keccak256.ComputeUtf8(symbol);

    /// <summary>The Pyth price id used for an oracle symbol on the devnet: keccak256("pyth:" + symbol).</summary>
    public static Hash32 PythPriceId(string symbol) => Keccak256.ComputeUtf8("pyth:" + symbol);

    public static IReadOnlyList<OracleSpec> Oracles { get; } =
    [
        new("ETH/USD", "ETH / USD", 100_000_000, 1_000_000_000_000_000, 3000m),
        new("BTC/USD", "BTC / USD", 100_000_000, 1_000_000_000_000_000, 60_000m),
        new("SOL/USD", "SOL / USD", 1_000_000, 1_000_000_000_000_000, 150m),
    ];

    public static AssetSpec Settlement { get; } = new("USDC", "USD Coin", 6, null, Wad, Wad, UInt256.Zero, UInt256.MaxValue);

    public static IReadOnlyList<AssetSpec> Collateral { get; } =
    [
        new("WETH", "Wrapped Ether", 18, "ETH/USD", ToWad(0.8m), ToWad(0.9m), ToWad(0.05m), ToWad(10_000m)),
        new("WBTC", "Wrapped BTC", 8, "BTC/USD", ToWad(0.8m), ToWad(0.9m), ToWad(0.05m), ToWad(1_000m)),
    ];

    public static IReadOnlyList<MarketSpec> Markets { get; } =
    [
        new("ETH", "ETH/USD", ToWad(0.10m), ToWad(0.05m), ToWad(10m), ToWad(0.0005m), ToWad(0.015m), ToWad(0.5m), ToWad(0.5m), ToWad(0.10m)),
        new("BTC", "BTC/USD", ToWad(0.10m), ToWad(0.05m), ToWad(10m), ToWad(0.0005m), ToWad(0.015m), ToWad(0.5m), ToWad(0.5m), ToWad(0.10m)),
        new("SOL", "SOL/USD", ToWad(0.20m), ToWad(0.10m), ToWad(10m), ToWad(0.0010m), ToWad(0.030m), ToWad(0.5m), ToWad(0.5m), ToWad(0.10m)),
    ];
}

/// <summary>Options of <see cref="DevnetDeployer.DeployAsync"/>.</summary>
public sealed record DevnetDeployOptions
{
    /// <summary>Deployer key (hex); default anvil dev account 0 (a public test key).</summary>
    public string DeployerKeyHex { get; init; } = AnvilDevAccounts.Deployer.PrivateKeyHex;

    public uint MaxStalenessSeconds { get; init; } = 3600;

    /// <summary>OracleHub max deviation between two valid sources (WAD fraction). Default 2%.</summary>
    public UInt256 MaxDeviation { get; init; } = DevnetDefaults.ToWad(0.02m);

    public ulong PythValidTimePeriod { get; init; } = 3600;

    public UInt256 PythUpdateFeeWei { get; init; } = UInt256.One;

    /// <summary>LP vault funding in USDC. Default 1,000,000.</summary>
    public decimal VaultUsdc { get; init; } = 1_000_000m;

    /// <summary>Insurance fund in USDC. Default 10,000.</summary>
    public decimal InsuranceUsdc { get; init; } = 10_000m;

    /// <summary>Initial prices; default <see cref="OracleSpec.InitialPrice"/>.</summary>
    public IReadOnlyDictionary<string, decimal>? InitialPrices { get; init; }

    /// <summary>Further addresses granted PRICE_PUSHER_ROLE on the hub and UPDATER_ROLE on each feed (e.g. a keeper key).</summary>
    public IReadOnlyList<Address> ExtraPriceUpdaters { get; init; } = [];

    /// <summary>Gas limit of contract creations (fixed: no eth_estimateGas).</summary>
    public ulong CreateGas { get; init; } = 12_000_000;

    /// <summary>Gas limit of configuration calls.</summary>
    public ulong CallGas { get; init; } = 1_000_000;
}

/// <summary>
/// Deploys and configures the protocol on a running anvil, mirroring devnet/test/Fixture.sol plus a MockPyth as
/// a second source per oracle id: tokens, OracleHub, one KeeperPriceFeed per oracle id, MockPyth,
/// CrossMarginEngine, hub sources, max deviation, assets, markets, roles, initial prices on both sources,
/// LP vault and insurance fund. Transactions are signed locally with explicit nonces and sent in batches.
/// </summary>
public static class DevnetDeployer
{
    public static async Task<DevnetDeployment> DeployAsync(Uri rpcUrl, ulong chainId, DevnetDeployOptions? options = null, Uri? wsUrl = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(rpcUrl);
        options ??= new DevnetDeployOptions();
        using var rpc = new JsonRpcClient(rpcUrl, timeout: TimeSpan.FromSeconds(120));
        var eth = new EthClient(rpc);
        ulong actualChainId = await eth.ChainIdAsync(cancellationToken).ConfigureAwait(false);
        if (actualChainId != chainId) throw new DevnetException($"The node at {rpcUrl} has chain id {actualChainId}, expected {chainId}.");
        using var key = PrivateKey.FromHex(options.DeployerKeyHex);
        Address me = key.Address;
        ulong deployBlock = await eth.BlockNumberAsync(cancellationToken).ConfigureAwait(false);
        ulong nonce = await eth.GetTransactionCountAsync(me, BlockTag.Pending, cancellationToken).ConfigureAwait(false);
        var runner = new DevnetTxRunner(rpc, chainId);

        // ---- phase 1: contracts (addresses follow from the deployer's nonces)
        var creates = new List<DevnetTxRequest>();
        var contracts = new Dictionary<string, Address>(StringComparer.Ordinal);
        Address Create(string name, byte[] deployData)
        {
            var address = TransactionSender.ContractAddress(me, nonce);
            creates.Add(DevnetTxRequest.Create(key, nonce++, deployData, options.CreateGas, "deploy " + name));
            contracts[name] = address;
            return address;
        }

        var settlement = DevnetDefaults.Settlement;
        Address usdc = Create(settlement.Symbol, MockERC20.EncodeDeploy(settlement.Name, settlement.Symbol, settlement.Decimals));
        var collateralTokens = DevnetDefaults.Collateral.Select(a => Create(a.Symbol, MockERC20.EncodeDeploy(a.Name, a.Symbol, a.Decimals))).ToArray();
        Address hubAddress = Create(ContractNames.OracleHub, OracleHub.EncodeDeploy(me));
        var feeds = DevnetDefaults.Oracles.Select(o => Create(ContractNames.Feed(o.Symbol),
            KeeperPriceFeed.EncodeDeploy(me, o.FeedDescription, o.MinAnswer, o.MaxAnswer))).ToArray();
        Address pythAddress = Create(ContractNames.MockPyth, MockPyth.EncodeDeploy(options.PythValidTimePeriod, options.PythUpdateFeeWei));
        Address engineAddress = Create(ContractNames.Engine, CrossMarginEngine.EncodeDeploy(me, usdc, hubAddress));
        await RunAllAsync(runner, creates, cancellationToken).ConfigureAwait(false);

        // ---- phase 2: configuration
        var hub = new OracleHub(hubAddress);
        var engine = new CrossMarginEngine(engineAddress);
        var usdcToken = new MockERC20(usdc);
        Hash32 updaterRole = Keccak256.ComputeUtf8("UPDATER_ROLE");
        Hash32 pusherRole = Keccak256.ComputeUtf8("PRICE_PUSHER_ROLE");
        var calls = new List<DevnetTxRequest>();
        void Call(ContractTx tx) => calls.Add(DevnetTxRequest.Call(key, nonce++, tx, options.CallGas));

        var oracles = new List<DevnetOracle>();
        for (int i = 0; i < DevnetDefaults.Oracles.Count; i++)
        {
            var o = DevnetDefaults.Oracles[i];
            Hash32 id = DevnetDefaults.OracleId(o.Symbol);
            Hash32 pythId = DevnetDefaults.PythPriceId(o.Symbol);
            Call(hub.AddSource(id, 1, feeds[i], Hash32.Zero, options.MaxStalenessSeconds));
            Call(hub.AddSource(id, 2, pythAddress, pythId, options.MaxStalenessSeconds));
            Call(hub.SetMaxDeviation(id, options.MaxDeviation));
            var feed = new KeeperPriceFeed(feeds[i]);
            Call(feed.GrantRole(updaterRole, hubAddress));
            foreach (var extra in options.ExtraPriceUpdaters) Call(feed.GrantRole(updaterRole, extra));
            oracles.Add(new DevnetOracle(o.Symbol, id, feeds[i], pythId, options.MaxStalenessSeconds, 8));
        }

        foreach (var extra in options.ExtraPriceUpdaters) Call(hub.GrantRole(pusherRole, extra));
        var assets = new List<DevnetAsset>
        {
            new(0, settlement.Symbol, usdc, settlement.Decimals, null, Hash32.Zero, null, Hash32.Zero,
                settlement.InitialWeight, settlement.MaintenanceWeight, settlement.LiquidationDiscount, settlement.DepositCap),
        };
        for (int i = 0; i < DevnetDefaults.Collateral.Count; i++)
        {
            var a = DevnetDefaults.Collateral[i];
            var oracle = oracles.First(o => o.Symbol == a.Oracle);
            Call(engine.AddAsset(collateralTokens[i], oracle.OracleId, a.InitialWeight, a.MaintenanceWeight, a.LiquidationDiscount, a.DepositCap));
            assets.Add(new DevnetAsset(i + 1, a.Symbol, collateralTokens[i], a.Decimals, a.Oracle, oracle.OracleId, oracle.PushFeed, oracle.PythPriceId,
                a.InitialWeight, a.MaintenanceWeight, a.LiquidationDiscount, a.DepositCap));
        }

        var markets = new List<DevnetMarket>();
        for (int i = 0; i < DevnetDefaults.Markets.Count; i++)
        {
            var m = DevnetDefaults.Markets[i];
            var oracle = oracles.First(o => o.Symbol == m.Oracle);
            Call(engine.AddMarket(oracle.OracleId, new CrossMarginEngine.MarketParams(m.InitialMarginFraction, m.MaintenanceMarginFraction, m.MinPositionMargin,
                m.TakerFee, m.LiquidationPenalty, m.KeeperShare, m.MaxLiquidationFraction, m.LiquidationBuffer)));
            markets.Add(new DevnetMarket(i, m.Symbol, m.Oracle, oracle.OracleId, oracle.PushFeed, oracle.PythPriceId, m.InitialMarginFraction,
                m.MaintenanceMarginFraction, m.MinPositionMargin, m.TakerFee, m.LiquidationPenalty, m.KeeperShare, m.MaxLiquidationFraction, m.LiquidationBuffer));
        }

        UInt256 vault = DevnetDefaults.ToUnits(options.VaultUsdc, 6);
        UInt256 insurance = DevnetDefaults.ToUnits(options.InsuranceUsdc, 6);
        Call(usdcToken.Mint(me, vault + insurance));
        Call(usdcToken.Approve(engineAddress, vault + insurance));
        if (!vault.IsZero) Call(engine.DepositVault(vault));
        if (!insurance.IsZero) Call(engine.FundInsurance(insurance));
        await RunAllAsync(runner, calls, cancellationToken).ConfigureAwait(false);

        var deployment = new DevnetDeployment
        {
            ChainId = chainId,
            RpcUrl = rpcUrl,
            WsUrl = wsUrl,
            DeployBlock = deployBlock + 1,
            Deployer = me,
            Contracts = contracts,
            Oracles = oracles,
            Assets = assets,
            Markets = markets,
            MaxDeviation = options.MaxDeviation,
            PythUpdateFeeWei = options.PythUpdateFeeWei,
            PythValidTimePeriod = options.PythValidTimePeriod,
        };

        // ---- phase 3: initial prices on both sources
        var sender = new TransactionSender(eth, new Ethereum.Transactions.LocalTxSigner(key), chainId, new TransactionSenderOptions { PriorityFee = 1_000_000_000UL });
        var driver = new PriceDriver(deployment, sender, rpc);
        var prices = options.InitialPrices ?? DevnetDefaults.Oracles.ToDictionary(o => o.Symbol, o => o.InitialPrice);
        await driver.SetPricesAsync(prices, cancellationToken: cancellationToken).ConfigureAwait(false);
        return deployment;
    }

    private static async Task RunAllAsync(DevnetTxRunner runner, List<DevnetTxRequest> requests, CancellationToken cancellationToken)
    {
        var outcomes = await runner.RunAsync(requests, cancellationToken).ConfigureAwait(false);
        var failed = outcomes.Where(o => !o.Succeeded).ToArray();
        if (failed.Length > 0)
            throw new DevnetException($"Deployment failed: {failed.Length} transaction(s) failed: " + string.Join("; ", failed.Select(f => f.ToString())));
    }
}
