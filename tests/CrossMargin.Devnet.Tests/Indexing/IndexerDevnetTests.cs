using System.Diagnostics;
using CrossMargin.Contracts;
using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Contracts;
using CrossMargin.Ethereum.Crypto;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Ethereum.Rpc;
using CrossMargin.Keeper.Indexing;
using Xunit.Abstractions;

namespace CrossMargin.Devnet.Tests.Indexing;

/// <summary>
/// The indexer against a real anvil: a minimal engine deployment (USDC, WETH, oracle hub, engine, one asset, one
/// market) with ~100 impersonated accounts that deposit and withdraw; cold sync, following over WebSocket, anvil
/// reorgs and rollbacks. Positions and liquidations need a configured oracle and are not covered here.
/// </summary>
[Collection(AnvilCollection.Name)]
public sealed class IndexerDevnetTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private static readonly UInt256 Wad = (UInt256)1_000_000_000_000_000_000UL;

    private sealed class Devnet(JsonRpcClient rpc, Address admin)
    {
        public JsonRpcClient Rpc { get; } = rpc;
        public EthClient Eth { get; } = new(rpc);
        public Address Admin { get; } = admin;
        public MockERC20 Usdc { get; set; } = null!;
        public MockERC20 Weth { get; set; } = null!;
        public CrossMarginEngine Engine { get; set; } = null!;
        public ulong DeploymentBlock { get; set; }
        public List<Address> Accounts { get; } = [];
        public HashSet<Address> WethHolders { get; } = [];

        public async Task<TransactionReceipt> SendAsync(Address from, Address? to, byte[] data)
        {
            var hash = await Rpc.RequestAsync("eth_sendTransaction", w =>
            {
                w.WriteStartObject();
                w.WriteString("from", from.ToLowerHex());
                if (to is { } t) w.WriteString("to", t.ToLowerHex());
                w.WriteString("data", Hex.Encode(data));
                w.WriteString("gas", "0x1c9c380");
                w.WriteEndObject();
            }, static r => Hash32.Parse(r.GetString()!));
            TransactionReceipt? receipt = null;
            for (int i = 0; i < 200 && (receipt = await Eth.GetTransactionReceiptAsync(hash)) is null; i++) await Task.Delay(10);
            if (receipt is null) throw new InvalidOperationException($"no receipt for {hash}");
            Assert.True(receipt.Succeeded, $"transaction {hash} reverted");
            return receipt;
        }

        public Task<TransactionReceipt> SendAsync(Address from, ContractTx tx) => SendAsync(from, tx.To, tx.Data);

        public async Task<Address> DeployAsync(byte[] code)
        {
            var receipt = await SendAsync(Admin, null, code);
            DeploymentBlock = receipt.BlockNumber;
            return receipt.ContractAddress ?? throw new InvalidOperationException("no contract address");
        }

        public static async Task<Devnet> DeployAsync(AnvilProcess anvil)
        {
            var d = new Devnet(new JsonRpcClient(anvil.RpcUrl), anvil.DevAccounts[0].Address);
            d.Usdc = new MockERC20(await d.DeployAsync(MockERC20.EncodeDeploy("USD Coin", "USDC", 6)));
            d.Weth = new MockERC20(await d.DeployAsync(MockERC20.EncodeDeploy("Wrapped Ether", "WETH", 18)));
            var hub = await d.DeployAsync(OracleHub.EncodeDeploy(d.Admin));
            var engineAddress = await d.DeployAsync(CrossMarginEngine.EncodeDeploy(d.Admin, d.Usdc.Address, hub));
            d.Engine = new CrossMarginEngine(engineAddress);
            await d.SendAsync(d.Admin, d.Engine.AddAsset(d.Weth.Address, Keccak256.ComputeUtf8("ETH/USD"), Wad / 10 * 8, Wad / 10 * 9, Wad / 20, Wad * 10_000));
            var p = new CrossMarginEngine.MarketParams(Wad / 10, Wad / 20, Wad * 10, Wad / 2000, Wad / 1000 * 15, Wad / 2, Wad / 2, Wad / 10);
            await d.SendAsync(d.Admin, d.Engine.AddMarket(Keccak256.ComputeUtf8("ETH/USD"), p));
            return d;
        }

        public async Task AddAccountsAsync(int count, int seed)
        {
            var rng = new Random(seed);
            for (int i = 0; i < count; i++)
            {
                var a = new Address(Keccak256.ComputeUtf8($"indexer devnet account {seed} {i}").ToArray().AsSpan(12));
                await Rpc.ImpersonateAccountAsync(a);
                await Rpc.SetBalanceAsync(a, Wad * 10);
                Accounts.Add(a);
                await ActAsync(a, rng);
            }
        }

        /// <summary>A random deposit / withdrawal of the account.</summary>
        public async Task ActAsync(Address a, Random rng)
        {
            ulong usdc = (ulong)rng.Next(1, 1_000_000) * 1_000_000;
            await SendAsync(Admin, Usdc.Mint(a, usdc));
            await SendAsync(a, Usdc.Approve(Engine.Address, usdc));
            await SendAsync(a, Engine.Deposit(UInt256.Zero, usdc));
            // Withdrawals check health, which prices collateral: only accounts without WETH can withdraw here.
            if (rng.Next(3) == 0 && !WethHolders.Contains(a)) await SendAsync(a, Engine.Withdraw(UInt256.Zero, usdc / 3));
            if (rng.Next(3) == 0)
            {
                // WETH collateral; withdrawals of collateral read prices (no oracle here), deposits do not.
                UInt256 weth = Wad * (ulong)rng.Next(1, 50);
                await SendAsync(Admin, Weth.Mint(a, weth));
                await SendAsync(a, Weth.Approve(Engine.Address, weth));
                await SendAsync(a, Engine.Deposit(UInt256.One, weth));
                WethHolders.Add(a);
            }
        }

        public IndexerOptions Options(int reorgDepth = 64) => new()
        {
            Engine = Engine.Address, DeploymentBlock = DeploymentBlock, ReorgDepth = reorgDepth,
            PollInterval = TimeSpan.FromMilliseconds(20), RetryDelay = TimeSpan.FromMilliseconds(20), ReconcileEveryBlocks = 0,
        };
    }

    /// <summary>cashOf / collateralOf of every account at <paramref name="block"/> (one batch) equal the book.</summary>
    private static async Task AssertBookMatchesChain(Devnet d, AccountBook book, ulong block, string context)
    {
        var batch = d.Rpc.CreateBatch();
        var cash = d.Accounts.Select(a => batch.Add(d.Engine.CashOf(a), BlockTag.Number(block))).ToArray();
        var weth = d.Accounts.Select(a => batch.Add(d.Engine.CollateralOf(a, UInt256.One), BlockTag.Number(block))).ToArray();
        await batch.SendAsync();
        int mismatches = 0;
        for (int i = 0; i < d.Accounts.Count; i++)
        {
            Int256 c = await cash[i];
            UInt256 w = await weth[i];
            bool known = book.TryGetAccount(d.Accounts[i], out var s);
            if (!known) { if (!c.IsZero || !w.IsZero) mismatches++; continue; }
            if (s!.Cash != c || (s.Collateral.Count > 1 ? s.Collateral[1] : UInt256.Zero) != w) mismatches++;
        }
        Assert.True(mismatches == 0, $"{context}: {mismatches} of {d.Accounts.Count} accounts differ from storage at block {block}");
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        using var cts = new CancellationTokenSource(Patience);
        while (!await condition())
        {
            if (cts.IsCancellationRequested) Assert.Fail($"timed out waiting for {what}");
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task Cold_sync_of_seeded_accounts_matches_storage_and_accountState()
    {
        await using var anvil = await AnvilFixture.StartFreshAsync();
        var d = await Devnet.DeployAsync(anvil);
        var seed = Stopwatch.StartNew();
        await d.AddAccountsAsync(100, seed: 1);
        output.WriteLine($"seeded {d.Accounts.Count} accounts in {seed.ElapsedMilliseconds} ms");
        ulong head = await d.Eth.BlockNumberAsync();

        var sw = Stopwatch.StartNew();
        var indexer = new ChainIndexer(d.Eth, d.Options());
        await indexer.SyncAsync(head);
        sw.Stop();
        output.WriteLine($"cold sync: {head - d.DeploymentBlock + 1} blocks, {indexer.Book.AccountCount} accounts, {indexer.Book.Stats.AppliedLogs} logs, {indexer.Backfiller.Stats.Requests} getLogs pages in {sw.Elapsed.TotalMilliseconds:0} ms");
        Assert.Equal(d.Accounts.Count, indexer.Book.AccountCount);
        await AssertBookMatchesChain(d, indexer.Book, head, "cold sync");

        // Reconciliation through batched accountState calls pinned to the head: accounts with WETH collateral need a
        // price (no oracle source here) and are unreadable; everything readable must match.
        var reconciler = new AccountReconciler(new RpcEngineStateReader(d.Rpc, d.Engine.Address, 50), d.Eth);
        var sw2 = Stopwatch.StartNew();
        var result = await reconciler.ReconcileAsync(indexer.Book);
        output.WriteLine($"reconcile: {result} in {sw2.Elapsed.TotalMilliseconds:0} ms");
        Assert.False(result.Discarded);
        Assert.Equal(0, result.Mismatched);
        Assert.Equal(0, result.MarketMismatches);
        Assert.True(result.Checked - result.Unreadable > 30);

        var funding = indexer.Book.Funding();
        var market = await d.Eth.CallAsync(d.Engine.GetMarket(UInt256.Zero), BlockTag.Number(head));
        Assert.Equal(new MarketFunding(market.FundingIndex, market.FundingRatePerSecond, market.LastFundingTime), funding[0]);
    }

    [Fact]
    public async Task Following_over_websocket_through_anvil_reorgs_and_rollbacks_matches_a_fresh_resync()
    {
        await using var anvil = await AnvilFixture.StartFreshAsync();
        var d = await Devnet.DeployAsync(anvil);
        await d.AddAccountsAsync(30, seed: 2);
        var opts = d.Options();
        await using var ws = new WebSocketRpcClient(new WebSocketRpcClientOptions { Endpoint = anvil.WsUrl });
        var indexer = new ChainIndexer(d.Eth, opts);
        var follower = new HeadFollower(indexer, d.Eth, new WebSocketNewHeadsSource(ws), opts);
        using var stop = new CancellationTokenSource();
        var run = follower.RunAsync(stop.Token);

        async Task CaughtUp(string what)
        {
            await WaitUntilAsync(async () =>
            {
                var h = await d.Eth.GetBlockByNumberAsync(BlockTag.Latest);
                return indexer.Book.Head == h!.Number && indexer.Book.HeadHash == h.Hash;
            }, what);
        }

        await CaughtUp("initial sync");
        var rng = new Random(3);
        foreach (var a in d.Accounts.Take(10)) await d.ActAsync(a, rng);
        await d.AddAccountsAsync(5, seed: 4);
        await CaughtUp("following");
        Assert.True(follower.Subscribed);
        await AssertBookMatchesChain(d, indexer.Book, indexer.Book.Head!.Value, "following");

        for (ulong depth = 1; depth <= 5; depth++)
        {
            foreach (var a in d.Accounts.Skip((int)depth * 3).Take(2)) await d.ActAsync(a, rng);
            await CaughtUp($"before reorg {depth}");
            if (depth % 2 == 1) await d.Rpc.ReorgAsync(depth); // same height, the last blocks replaced by empty ones
            else await d.Rpc.RollbackAsync(depth);             // shorter chain
            await d.Rpc.MineAsync(1);
            await CaughtUp($"after reorg {depth}");
            ulong head = indexer.Book.Head!.Value;
            await AssertBookMatchesChain(d, indexer.Book, head, $"reorg {depth}");
            var fresh = new ChainIndexer(d.Eth, opts);
            await fresh.SyncAsync(head);
            var mine = indexer.Book.GetAllAccounts();
            var theirs = fresh.Book.GetAllAccounts();
            Assert.Equal(theirs.Select(x => x.Account), mine.Select(x => x.Account));
            Assert.All(theirs.Zip(mine), p => Assert.True(p.First.SameState(p.Second), $"reorg {depth}: {p.First} != {p.Second}"));
            Assert.Equal(fresh.Book.Funding(), indexer.Book.Funding());
        }
        output.WriteLine($"reorgs {indexer.Stats.Reorgs}, reorged blocks {indexer.Stats.ReorgedBlocks}, blocks {indexer.Stats.Blocks}, failures {follower.Failures}, gaps {follower.Gaps}");
        Assert.True(indexer.Stats.Reorgs >= 1);
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
    }
}

/// <summary>The indexer against the full devnet deployment and seeder (oracles, markets, ~100 accounts with positions).</summary>
public sealed class IndexerSeededDevnetTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Cold_sync_of_the_seeded_devnet_equals_accountState_of_every_account()
    {
        await using var anvil = await AnvilProcess.StartAsync(new AnvilOptions { GasLimit = 1_000_000_000, Accounts = 3 });
        using var rpc = new JsonRpcClient(anvil.RpcUrl, timeout: TimeSpan.FromSeconds(120));
        var eth = new EthClient(rpc);
        var deployment = await DevnetDeployer.DeployAsync(anvil.RpcUrl, anvil.ChainId, wsUrl: anvil.WsUrl);
        var seed = await DevnetSeeder.SeedAsync(deployment, new DevnetSeedOptions { Accounts = 100, Seed = 7 });
        Assert.Equal(0, seed.FailedTransactions);
        ulong head = await eth.BlockNumberAsync();

        var options = new IndexerOptions { Engine = deployment.Engine, DeploymentBlock = deployment.DeployBlock };
        var sw = Stopwatch.StartNew();
        var indexer = new ChainIndexer(eth, options);
        await indexer.SyncAsync(head);
        sw.Stop();
        output.WriteLine($"cold sync of the seeded devnet: blocks {deployment.DeployBlock}..{head}, {indexer.Book.AccountCount} accounts, {indexer.Book.Stats.AppliedLogs} logs, {indexer.Backfiller.Stats.Requests} getLogs pages, {sw.Elapsed.TotalMilliseconds:0} ms");

        foreach (var a in seed.Addresses) Assert.True(indexer.Book.Contains(a), $"{a} not indexed");
        var reconciler = new AccountReconciler(new RpcEngineStateReader(rpc, deployment.Engine, 100), eth);
        var sw2 = Stopwatch.StartNew();
        var result = await reconciler.ReconcileAsync(indexer.Book);
        output.WriteLine($"accountState check: {result} in {sw2.Elapsed.TotalMilliseconds:0} ms");
        Assert.False(result.Discarded);
        Assert.Equal(0, result.Unreadable);
        Assert.Equal(0, result.Mismatched);
        Assert.Equal(0, result.MarketMismatches);
        Assert.True(indexer.Book.GetAllAccounts().Count(s => s.PositionMask != 0) > 10, "the seeded accounts hold positions");
    }
}
