using System.Buffers.Binary;
using System.Diagnostics;
using CrossMargin.Contracts;
using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Contracts;
using CrossMargin.Ethereum.Crypto;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Ethereum.Rpc;
using CrossMargin.Ethereum.Signing;

namespace CrossMargin.Devnet;

/// <summary>Deterministic devnet account keys: keccak256("crossmargin-devnet" || seed (8 bytes BE) || index (4 bytes BE)), re-hashed until a valid secp256k1 key.</summary>
public static class DevnetAccounts
{
    /// <summary>The secp256k1 group order n.</summary>
    private static readonly UInt256 s_curveOrder = UInt256.Parse("115792089237316195423570985008687907852837564279074904382605163141518161494337");
    private static readonly byte[] s_domain = "crossmargin-devnet"u8.ToArray();

    /// <summary>The 32-byte key of account <paramref name="index"/> under <paramref name="seed"/>.</summary>
    public static byte[] DeriveKeyBytes(ulong seed, int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        Span<byte> input = stackalloc byte[s_domain.Length + 12];
        s_domain.CopyTo(input);
        BinaryPrimitives.WriteUInt64BigEndian(input[s_domain.Length..], seed);
        BinaryPrimitives.WriteInt32BigEndian(input[(s_domain.Length + 8)..], index);
        var key = new byte[32];
        Keccak256.Hash(input, key);
        while (true)
        {
            var k = UInt256.ReadBigEndian(key);
            if (!k.IsZero && k < s_curveOrder) return key;
            Keccak256.Hash(key.AsSpan().ToArray(), key);
        }
    }

    public static PrivateKey Derive(ulong seed, int index) => new(DeriveKeyBytes(seed, index));
}

/// <summary>Options of <see cref="DevnetSeeder.SeedAsync"/>.</summary>
public sealed record DevnetSeedOptions
{
    public int Accounts { get; init; } = 100;

    /// <summary>Seed of the keys and of the portfolio RNG.</summary>
    public ulong Seed { get; init; } = 1;

    /// <summary>First account index (to add accounts to an already seeded devnet).</summary>
    public int FirstIndex { get; init; }

    /// <summary>Ether given to each account with anvil_setBalance.</summary>
    public UInt256 EthBalanceWei { get; init; } = DevnetDefaults.ToWad(100m);

    /// <summary>Total collateral value per account, USD, drawn log-uniformly from this range.</summary>
    public decimal MinCollateralUsd { get; init; } = 1_000m;
    public decimal MaxCollateralUsd { get; init; } = 50_000m;

    /// <summary>Target initial-margin utilisation (IM / initial-weighted collateral), drawn uniformly.</summary>
    public double MinUtilisation { get; init; } = 0.20;
    public double MaxUtilisation { get; init; } = 0.95;

    /// <summary>Share of the collateral kept off the margin budget (fees, rounding). Default 0.97.</summary>
    public double SafetyFactor { get; init; } = 0.97;

    /// <summary>Calls per JSON-RPC POST.</summary>
    public int BatchSize { get; init; } = 500;

    /// <summary>
    /// Transactions per mined block (<see cref="DevnetTxRunner.TransactionsPerBlock"/>). Default 10,000: every block costs
    /// time in proportion to the whole state on anvil, so a large seeding needs few, large blocks.
    /// </summary>
    public int TransactionsPerBlock { get; init; } = 10_000;

    /// <summary>
    /// Before seeding, raise the deposit cap of every collateral asset whose planned deposits would exceed it (with
    /// setAssetParams from the deployer, the engine's admin, which must be anvil dev account 0). Default false: past the
    /// default caps (10,000 WETH, reached near 18,000 accounts; 1,000 WBTC) the deposits fail with DepositCapExceeded.
    /// </summary>
    public bool RaiseDepositCaps { get; init; }
}

/// <summary>One seeded account: what was planned and which of its transactions failed (with reasons).</summary>
public sealed record SeededAccount(int Index, Address Address, double TargetUtilisation, decimal CollateralUsd,
    IReadOnlyList<string> Plan, IReadOnlyList<DevnetTxOutcome> Failures)
{
    public bool Succeeded => Failures.Count == 0;
}

/// <summary>Result of a seeding run. Every account is listed, failed ones included.</summary>
public sealed record DevnetSeedResult(IReadOnlyList<SeededAccount> Accounts, int Transactions, int FailedTransactions, TimeSpan Elapsed,
    IReadOnlyDictionary<string, TimeSpan> Phases)
{
    public int FailedAccounts => Accounts.Count(a => !a.Succeeded);

    public IEnumerable<Address> Addresses => Accounts.Select(a => a.Address);
}

/// <summary>
/// Seeds N deterministic accounts with random but valid portfolios (seeded RNG): mixed collateral (USDC cash,
/// WETH, WBTC), longs and shorts across markets, leverage spread so a 10–30% move makes a share liquidatable.
/// Fast path: keys derived offline, ETH via batched anvil_setBalance, every mint/approve/deposit/trade signed
/// offline with explicit nonces and run through <see cref="DevnetTxRunner"/> (automine off, batched sends, few large
/// blocks with anvil_mine: on anvil every block costs time in proportion to the whole state; success read from the
/// logs, receipts and revert reasons only for the failures).
/// </summary>
public static class DevnetSeeder
{
    private const ulong MintGas = 120_000;
    private const ulong ApproveGas = 80_000;
    private const ulong DepositGas = 250_000;
    private const ulong TradeGas = 800_000;

    public static async Task<DevnetSeedResult> SeedAsync(DevnetDeployment deployment, DevnetSeedOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(deployment);
        options ??= new DevnetSeedOptions();
        ArgumentOutOfRangeException.ThrowIfNegative(options.Accounts);
        if (!(options.MinUtilisation > 0 && options.MinUtilisation <= options.MaxUtilisation && options.MaxUtilisation < 1))
            throw new ArgumentException("Utilisation range must satisfy 0 < min <= max < 1.", nameof(options));
        var total = Stopwatch.StartNew();
        var phases = new Dictionary<string, TimeSpan>();
        var phase = Stopwatch.StartNew();
        using var rpc = new JsonRpcClient(deployment.RpcUrl, timeout: TimeSpan.FromSeconds(300));
        var eth = new EthClient(rpc);

        // keys (parallel: public key derivation is the costly part)
        var keys = new PrivateKey[options.Accounts];
        Parallel.For(0, options.Accounts, i => keys[i] = DevnetAccounts.Derive(options.Seed, options.FirstIndex + i));
        phases["keys"] = Lap(phase);

        // current prices (WAD) per oracle symbol
        var hub = new OracleHub(deployment.OracleHub);
        var oracleIds = deployment.Oracles.Select(o => o.OracleId).ToArray();
        UInt256[] wadPrices = await eth.CallAsync(hub.GetPrices(oracleIds), cancellationToken: cancellationToken).ConfigureAwait(false);
        var price = new Dictionary<string, decimal>();
        for (int i = 0; i < oracleIds.Length; i++) price[deployment.Oracles[i].Symbol] = WadToDecimal(wadPrices[i]);

        // ETH balances and nonces, batched
        var nonces = new ulong[options.Accounts];
        for (int start = 0; start < keys.Length; start += options.BatchSize)
        {
            int end = Math.Min(keys.Length, start + options.BatchSize);
            var batch = rpc.CreateBatch();
            var nonceTasks = new Task<ulong>[end - start];
            for (int i = start; i < end; i++)
            {
                Address a = keys[i].Address;
                UInt256 balance = options.EthBalanceWei;
                _ = batch.Add<bool>("anvil_setBalance", w => { w.WriteAddress(a); w.WriteQuantity(balance); }, static _ => true);
                nonceTasks[i - start] = batch.Add(EthRequests.GetTransactionCount(a, BlockTag.Pending));
            }

            await batch.SendAsync(cancellationToken).ConfigureAwait(false);
            for (int i = start; i < end; i++) nonces[i] = await nonceTasks[i - start].ConfigureAwait(false);
        }

        phases["balances"] = Lap(phase);

        // portfolios
        var rng = new Random(unchecked((int)(options.Seed ^ (options.Seed >> 32)) ^ 0x5eed));
        var requests = new List<DevnetTxRequest>(options.Accounts * 8);
        var owner = new List<int>(options.Accounts * 8);
        var plans = new List<string>[options.Accounts];
        var utilisation = new double[options.Accounts];
        var collateralUsd = new decimal[options.Accounts];
        var engine = new CrossMarginEngine(deployment.Engine);
        var plannedWad = new UInt256[deployment.Assets.Count];
        for (int i = 0; i < options.Accounts; i++)
        {
            var key = keys[i];
            ulong nonce = nonces[i];
            var plan = plans[i] = [];
            void Add(ContractTx tx, ulong gas, string label)
            {
                requests.Add(DevnetTxRequest.Call(key, nonce++, tx, gas, label));
                owner.Add(i);
            }

            double logMin = Math.Log((double)options.MinCollateralUsd), logMax = Math.Log((double)options.MaxCollateralUsd);
            decimal value = (decimal)Math.Exp(logMin + (rng.NextDouble() * (logMax - logMin)));
            collateralUsd[i] = decimal.Round(value, 2);
            // collateral mix: 40% USDC only, else USDC share 20..100% and the rest split over WETH/WBTC
            double usdcShare = rng.NextDouble() < 0.4 ? 1.0 : 0.2 + (0.8 * rng.NextDouble());
            double wethShare = (1 - usdcShare) * rng.NextDouble();
            double wbtcShare = 1 - usdcShare - wethShare;
            decimal weightedValue = 0;
            foreach (var asset in deployment.Assets)
            {
                double share = asset.Id == 0 ? usdcShare : asset.Symbol == "WETH" ? wethShare : asset.Symbol == "WBTC" ? wbtcShare : 0;
                if (share < 0.02) continue;
                decimal usd = value * (decimal)share;
                decimal p = asset.OracleSymbol is null ? 1m : price[asset.OracleSymbol];
                decimal tokens = usd / p;
                UInt256 units = DevnetDefaults.ToUnits(decimal.Round(tokens, Math.Min((int)asset.Decimals, 12), MidpointRounding.ToZero), asset.Decimals);
                if (units.IsZero) continue;
                var token = new MockERC20(asset.Token);
                Add(token.Mint(key.Address, units), MintGas, $"mint {asset.Symbol}");
                Add(token.Approve(deployment.Engine, units), ApproveGas, $"approve {asset.Symbol}");
                Add(engine.Deposit((UInt256)(ulong)asset.Id, units), DepositGas, $"deposit {asset.Symbol}");
                plannedWad[asset.Id] += asset.Decimals < 18 ? units * UInt256.Pow10(18 - asset.Decimals) : units;
                decimal weight = WadToDecimal(asset.InitialWeight);
                weightedValue += usd * weight;
                plan.Add($"deposit {tokens:0.########} {asset.Symbol}");
            }

            // markets: 1..3 distinct, IM budget split by random weights
            double u = options.MinUtilisation + ((options.MaxUtilisation - options.MinUtilisation) * rng.NextDouble());
            utilisation[i] = u;
            int k = 1 + rng.Next(Math.Min(3, deployment.Markets.Count));
            var chosen = deployment.Markets.OrderBy(_ => rng.Next()).Take(k).ToArray();
            var weights = chosen.Select(_ => 0.2 + rng.NextDouble()).ToArray();
            double weightSum = weights.Sum();
            decimal budget = weightedValue * (decimal)(u * options.SafetyFactor);
            for (int m = 0; m < chosen.Length; m++)
            {
                var market = chosen[m];
                decimal imf = WadToDecimal(market.InitialMarginFraction);
                decimal fee = WadToDecimal(market.TakerFee);
                decimal minMargin = WadToDecimal(market.MinPositionMargin);
                decimal marketBudget = (budget * (decimal)(weights[m] / weightSum)) - minMargin;
                // the fee is paid from equity: N·IMF + N·fee ≤ budget
                decimal notional = marketBudget / (imf + fee);
                if (notional < 20m) continue;
                decimal p = price[market.OracleSymbol];
                decimal size = decimal.Round(notional / p, 8, MidpointRounding.ToZero);
                if (size <= 0) continue;
                bool isLong = rng.Next(2) == 0;
                Int256 sizeWad = (Int256)DevnetDefaults.ToWad(size);
                if (!isLong) sizeWad = -sizeWad;
                Add(engine.Trade((UInt256)(ulong)market.Id, sizeWad, UInt256.Zero), TradeGas, $"trade {market.Symbol} {(isLong ? "+" : "-")}{size}");
                plan.Add($"{(isLong ? "long" : "short")} {size} {market.Symbol} (~{notional:0} USD)");
            }
        }

        phases["plan"] = Lap(phase);
        if (options.RaiseDepositCaps) await RaiseDepositCapsAsync(deployment, rpc, plannedWad, cancellationToken).ConfigureAwait(false);
        // every seeding call logs on success (Transfer, Approval, Deposited, Traded): only failures need their receipt
        var runner = new DevnetTxRunner(rpc, deployment.ChainId)
        {
            BatchSize = options.BatchSize,
            TransactionsPerBlock = options.TransactionsPerBlock,
            LogsProveSuccess = true,
        };
        // one runner call per slice of whole accounts, about a block's worth of transactions: the fee cap is set from the
        // current base fee, each slice's logs are read right after its blocks, and the signed transactions of a large
        // seeding are not all held at once (one call for 100,000 accounts left thousands of transactions unmined)
        var outcomes = new List<DevnetTxOutcome>(requests.Count);
        var runnerTimings = new Dictionary<string, TimeSpan>();
        for (int from = 0; from < requests.Count;)
        {
            int to = Math.Min(requests.Count, from + Math.Max(1, options.TransactionsPerBlock));
            while (to < requests.Count && owner[to] == owner[to - 1]) to++;
            outcomes.AddRange(await runner.RunAsync(requests.GetRange(from, to - from), cancellationToken).ConfigureAwait(false));
            foreach (var (name, t) in runner.LastTimings) runnerTimings[name] = runnerTimings.GetValueOrDefault(name) + t;
            from = to;
        }

        phases["transactions"] = Lap(phase);
        foreach (var (name, t) in runnerTimings) phases["transactions." + name] = t;

        var failures = new List<DevnetTxOutcome>[options.Accounts];
        for (int i = 0; i < failures.Length; i++) failures[i] = [];
        int failed = 0;
        for (int t = 0; t < outcomes.Count; t++)
        {
            if (outcomes[t].Succeeded) continue;
            failed++;
            failures[owner[t]].Add(outcomes[t]);
        }

        var accounts = new SeededAccount[options.Accounts];
        for (int i = 0; i < accounts.Length; i++)
        {
            accounts[i] = new SeededAccount(options.FirstIndex + i, keys[i].Address, utilisation[i], collateralUsd[i], plans[i], failures[i]);
            keys[i].Dispose();
        }

        return new DevnetSeedResult(accounts, requests.Count, failed, total.Elapsed, phases);
    }

    /// <summary>Raises each collateral asset's deposit cap to its current total plus <paramref name="plannedWad"/> where that is above the cap.</summary>
    private static async Task RaiseDepositCapsAsync(DevnetDeployment deployment, JsonRpcClient rpc, UInt256[] plannedWad, CancellationToken cancellationToken)
    {
        var eth = new EthClient(rpc);
        var engine = new CrossMarginEngine(deployment.Engine);
        using var admin = PrivateKey.FromHex(AnvilDevAccounts.Deployer.PrivateKeyHex);
        var raises = new List<DevnetTxRequest>();
        ulong nonce = 0;
        foreach (var asset in deployment.Assets)
        {
            if (asset.Id == 0 || plannedWad[asset.Id].IsZero) continue; // the settlement asset has no cap
            var id = (UInt256)(ulong)asset.Id;
            CrossMarginEngine.Asset current = await eth.CallAsync(engine.GetAsset(id), cancellationToken: cancellationToken).ConfigureAwait(false);
            UInt256 total = await eth.CallAsync(engine.TotalCollateral(id), cancellationToken: cancellationToken).ConfigureAwait(false);
            UInt256 needed = total + plannedWad[asset.Id];
            if (needed <= current.DepositCap) continue;
            if (admin.Address != deployment.Deployer)
                throw new DevnetException($"Raising the {asset.Symbol} deposit cap needs the engine admin's key; the deployer {deployment.Deployer} is not anvil dev account 0.");
            if (raises.Count == 0) nonce = await eth.GetTransactionCountAsync(admin.Address, BlockTag.Pending, cancellationToken).ConfigureAwait(false);
            raises.Add(DevnetTxRequest.Call(admin, nonce++, engine.SetAssetParams(id, current.InitialWeight, current.MaintenanceWeight, current.LiquidationDiscount, needed),
                200_000, $"raise {asset.Symbol} deposit cap to {needed}"));
        }

        if (raises.Count == 0) return;
        var outcomes = await new DevnetTxRunner(rpc, deployment.ChainId).RunAsync(raises, cancellationToken).ConfigureAwait(false);
        var failed = outcomes.Where(o => !o.Succeeded).ToArray();
        if (failed.Length > 0) throw new DevnetException("Could not raise the deposit caps: " + string.Join("; ", failed.Select(o => o.ToString())));
    }

    /// <summary>WAD integer → decimal (exact to 18 places for values below ~7.9e10).</summary>
    public static decimal WadToDecimal(UInt256 wad)
    {
        var big = (System.Numerics.BigInteger)wad;
        var whole = System.Numerics.BigInteger.DivRem(big, System.Numerics.BigInteger.Pow(10, 18), out var frac);
        return (decimal)whole + ((decimal)frac / 1_000_000_000_000_000_000m);
    }

    private static TimeSpan Lap(Stopwatch sw)
    {
        var t = sw.Elapsed;
        sw.Restart();
        return t;
    }
}
