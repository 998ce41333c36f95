using CrossMargin.Devnet;
using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Ethereum.Rpc;
using CrossMargin.Ethereum.Signing;
using CrossMargin.Ethereum.Transactions;
using CrossMargin.Keeper.Detection;
using CrossMargin.Keeper.Execution;
using CrossMargin.Keeper.Hosting;
using CrossMargin.Keeper.Indexing;
using CrossMargin.Keeper.Planning;
using CrossMargin.Keeper.Rpc;
using CrossMargin.Keeper.Tests.Detection;
using CrossMargin.Keeper.Tests.Indexing;
using CrossMargin.Risk;
using IndexedChain = CrossMargin.Keeper.Tests.Indexing.FakeChain;

namespace CrossMargin.Keeper.Tests.Hosting;

/// <summary>
/// JSON-RPC round trips per keeper block (a batch counts once), through the indexer and the pipeline together over a
/// batching node: a quiet block is one round trip, a block that sends three, a catch-up of several blocks two.
/// </summary>
public sealed class RoundTripTests
{
    /// <summary>The risk world's reads, queued in the node's batches (the answers come from the world).</summary>
    private sealed class BatchingReader(RiskWorld world) : IMarketDataReader
    {
        public Task<ProtocolConfig> LoadConfigAsync(ulong? block, CancellationToken cancellationToken = default) => world.LoadConfigAsync(block, cancellationToken);

        public Task<FundingState[]> ReadFundingAsync(int marketCount, ulong block, CancellationToken cancellationToken = default) =>
            world.ReadFundingAsync(marketCount, block, cancellationToken);

        public Task<UInt256[]> ReadPricesAsync(Hash32[] oracleIds, ulong block, CancellationToken cancellationToken = default) =>
            world.ReadPricesAsync(oracleIds, block, cancellationToken);

        public Task<UInt256[]>? QueuePrices(IRpcBatch batch, Hash32[] oracleIds, ulong block) =>
            batch.Add(new RpcRequest<UInt256[]>("eth_call", null, _ => world.ReadPricesAsync(oracleIds, block).GetAwaiter().GetResult()));

        public Task<FundingState[]>? QueueFunding(IRpcBatch batch, int marketCount, ulong block) =>
            batch.Add(new RpcRequest<FundingState[]>("eth_call", null, _ => world.ReadFundingAsync(marketCount, block).GetAwaiter().GetResult()));
    }

    private sealed class Keeper : IAsyncDisposable
    {
        private readonly string _dir = Directory.CreateTempSubdirectory("cm-rt-").FullName;
        private readonly LocalTxSigner _signer = new(PrivateKey.FromHex(AnvilDevAccounts.AnvilDevPrivateKey1), ownsKey: true);
        private readonly TxJournal _journal;

        public Keeper(PlannerOptions? planner = null)
        {
            Engine = RiskWorld.Addr(500);
            Chain = new IndexedChain(Engine);
            for (int i = 0; i < 3; i++) Chain.Mine([]);
            Node = new FakeNode(Chain);
            Rpc = new CountingRpcClient(Node);
            var eth = new EthClient(Rpc);
            for (int i = 0; i < 3; i++) World.SetAccount(RiskWorld.Addr(i), 2000 - (100 * i), 0, (0, 10_000, 3000));
            Indexer = new ChainIndexer(eth, new IndexerOptions { Engine = Engine, DeploymentBlock = 1, ReconcileEveryBlocks = 0, RetryDelay = TimeSpan.Zero }, World.Book);
            var fees = new FeeEstimator(eth, new FeeOptions());
            _journal = TxJournal.Open(Path.Combine(_dir, "journal.db"));
            Executor = new TxExecutor(eth, _signer, new NonceManager(eth), fees, _journal, new ExecutionOptions());
            Pipeline = new KeeperPipeline(Indexer, new LiquidationDetector(new BatchingReader(World), World.Book),
                new LiquidationPlanner(planner ?? new PlannerOptions { MinProfit = UInt256.Zero }, _signer.Address), eth, Engine, fees, Executor, sellCollateral: false);
        }

        public Address Engine { get; }
        public IndexedChain Chain { get; }
        public FakeNode Node { get; }
        public CountingRpcClient Rpc { get; }
        public RiskWorld World { get; } = new();
        public ChainIndexer Indexer { get; }
        public TxExecutor Executor { get; }
        public KeeperPipeline Pipeline { get; }

        /// <summary>Syncs, starts the executor and processes the first block (the full load).</summary>
        public async Task StartAsync()
        {
            await Indexer.SyncAsync(Chain.Head);
            await Executor.StartAsync();
            Assert.NotNull(await ProcessAsync());
            Rpc.RecordRoundTrips = true;
        }

        /// <summary>Mines <paramref name="blocks"/> empty blocks, announces the newest and processes what the indexer notified.</summary>
        public async Task<(BlockReport? Report, IReadOnlyList<string[]> Trips)> BlockAsync(int blocks = 1)
        {
            Rpc.TakeRoundTrips();
            for (int i = 0; i < blocks; i++) Chain.Mine([]);
            await Indexer.OnNewHeadAsync(Chain.HeaderAt(Chain.Head));
            BlockReport? report = await ProcessAsync();
            return (report, Rpc.TakeRoundTrips());
        }

        private async Task<BlockReport?> ProcessAsync()
        {
            BlockProcessed? block = null;
            while (Indexer.Blocks.TryRead(out BlockProcessed? next)) block = block is null ? next : KeeperPipeline.Coalesce(block, next);
            Assert.NotNull(block);
            return await Pipeline.ProcessSafelyAsync(block, CancellationToken.None);
        }

        public async ValueTask DisposeAsync()
        {
            await Executor.DisposeAsync();
            _journal.Dispose();
            _signer.Dispose();
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try { Directory.Delete(_dir, true); } catch (IOException) { }
        }
    }

    private static string Show(IReadOnlyList<string[]> trips) => string.Join(" ", trips.Select(CountingRpcClient.Describe));

    [Fact]
    public async Task A_quiet_block_is_one_round_trip_with_the_logs_and_the_block_reads()
    {
        await using var k = new Keeper();
        await k.StartAsync();
        var (report, trips) = await k.BlockAsync();
        Assert.NotNull(report);
        Assert.Equal(0, report.Liquidatable);
        Assert.True(trips.Count == 1, Show(trips));
        Assert.Contains("eth_getLogs", trips[0]);
        Assert.Contains("eth_call", trips[0]); // the prices
        Assert.Equal(k.Chain.Head, k.World.PriceReads[^1]);
    }

    [Fact]
    public async Task A_block_that_sends_is_three_round_trips_and_the_next_block_one()
    {
        await using var k = new Keeper();
        await k.StartAsync();
        k.World.Prices = [RiskWorld.Usd(2900), k.World.Prices[1]];
        var (report, trips) = await k.BlockAsync();
        Assert.NotNull(report);
        Assert.True(report.BatchesSent > 0);
        Assert.True(trips.Count == 3, Show(trips));
        Assert.Contains("eth_getLogs", trips[0]);
        Assert.Contains("eth_feeHistory", trips[0]);
        Assert.Equal(["eth_simulateV1"], trips[1]);
        Assert.All(trips[2], m => Assert.Equal("eth_sendRawTransaction", m));

        // in flight: the receipts and the mined nonce come with the next block's logs
        var (next, after) = await k.BlockAsync();
        Assert.NotNull(next);
        Assert.Equal(0, k.Pipeline.Stats.Failures);
        Assert.True(after.Count == 1, Show(after));
        Assert.Contains("eth_getTransactionReceipt", after[0]);
        Assert.Contains("eth_getTransactionCount", after[0]);
    }

    [Fact]
    public async Task The_fee_bumps_of_a_block_go_out_in_one_round_trip()
    {
        // one account per batch, so that several transactions wait together
        await using var k = new Keeper(new PlannerOptions { MinProfit = UInt256.Zero, BatchGasBudget = new PlannerOptions().GasLimitFor(1) });
        await k.StartAsync();
        k.World.Prices = [RiskWorld.Usd(2900), k.World.Prices[1]];
        var (report, trips) = await k.BlockAsync();
        Assert.NotNull(report);
        int sent = report.BatchesSent;
        Assert.True(sent >= 2, Show(trips));

        // the fake node never mines: after ReplaceAfterBlocks (3) blocks every one of them is re-sent with bumped fees
        IReadOnlyList<string[]> last = [];
        for (int i = 0; i < new ExecutionOptions().ReplaceAfterBlocks; i++) (_, last) = await k.BlockAsync();
        var sends = last.Where(t => t.Contains("eth_sendRawTransaction")).ToList();
        Assert.True(sends.Count == 1, Show(last));
        Assert.Equal(sent, sends[0].Length);
        Assert.All(sends[0], m => Assert.Equal("eth_sendRawTransaction", m));
        Assert.True(last.Count == 2, Show(last)); // the block's batch, then the replacements
        Assert.Equal(sent, k.Executor.InFlight.Sum(t => t.Attempts - 1));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(5)]
    [InlineData(40)]
    public async Task A_catch_up_of_several_blocks_is_two_round_trips(int blocks)
    {
        await using var k = new Keeper();
        await k.StartAsync();
        long before = k.Indexer.Stats.Blocks;
        var (report, trips) = await k.BlockAsync(blocks);
        Assert.NotNull(report);
        Assert.Equal(k.Chain.Head, report.Block);
        Assert.Equal(before + blocks, k.Indexer.Stats.Blocks);
        Assert.True(trips.Count == 2, Show(trips));
        Assert.Equal(Enumerable.Repeat("eth_getBlockByNumber", blocks - 1), trips[0]); // the announced head's header is known
        Assert.Equal(blocks, trips[1].Count(m => m == "eth_getLogs"));
        Assert.Contains("eth_feeHistory", trips[1]);
    }

    [Fact]
    public async Task A_catch_up_longer_than_a_batch_takes_two_round_trips_per_batch()
    {
        await using var k = new Keeper();
        await k.StartAsync();
        var (report, trips) = await k.BlockAsync(250); // batches of 100, 100 and 50 blocks
        Assert.NotNull(report);
        Assert.Equal(k.Chain.Head, k.Indexer.Book.Head);
        Assert.True(trips.Count == 6, Show(trips));
        Assert.DoesNotContain("eth_feeHistory", trips[1]); // only the newest block carries the keeper's reads
        Assert.Contains("eth_feeHistory", trips[5]);
    }

    [Fact]
    public async Task A_catch_up_over_dense_blocks_reads_them_a_few_at_a_time()
    {
        var rng = new Random(31);
        var chain = ChainIndexerTests.Chain(rng, 31, 120);
        var node = new FakeNode(chain);
        var options = ChainIndexerTests.Options();
        options.TargetLogsPerPage = 40;
        var indexer = new ChainIndexer(new EthClient(node), options);
        await indexer.SyncAsync(chain.Head);
        for (int i = 0; i < 60; i++) chain.Mine(EngineLogs.RandomEvents(rng, 25, 12)); // several logs per block
        node.LogCallsPerBatch.Clear();
        await indexer.OnNewHeadAsync(chain.HeaderAt(chain.Head));
        BookAssert.Equal(BookAssert.Replay(chain), indexer.Book, "after the catch-up");
        var batches = node.LogCallsPerBatch.Where(n => n > 0).ToList();
        int logsPerBlock = Math.Max(1, chain.AllLogs().Count(l => l.BlockNumber > chain.Head - 60) / 60);
        // each logs batch is sized for about 40 logs at the density seen, not the 100 blocks of CatchUpBatchBlocks
        Assert.True(batches.Count >= 60 * logsPerBlock / 40 / 2, $"{batches.Count} batches: {string.Join(", ", batches)}");
        Assert.All(batches.Skip(1), n => Assert.InRange(n, 1, Math.Max(1, 3 * 40 / logsPerBlock)));
    }

    [Fact]
    public async Task A_failed_batch_costs_only_the_retries_and_the_block_is_processed()
    {
        await using var k = new Keeper();
        await k.StartAsync();
        k.Node.FailBatches = 1;
        var (report, trips) = await k.BlockAsync();
        Assert.NotNull(report);
        Assert.Equal(0, k.Pipeline.Stats.Failures);
        Assert.Equal(k.Chain.Head, k.Indexer.Book.Head);
        // the failed batch, the logs read on their own, the keeper's reads in their own batch
        Assert.True(trips.Count == 3, Show(trips));
        Assert.Equal(["eth_getLogs"], trips[1]);
        Assert.DoesNotContain("eth_getLogs", trips[2]);
    }

    [Theory]
    [InlineData(201, 1)]
    [InlineData(202, 3)]
    [InlineData(203, 5)]
    public async Task Batched_reads_follow_reorgs_to_the_same_book_as_a_replay(int seed, int depth)
    {
        var rng = new Random(seed);
        var chain = ChainIndexerTests.Chain(rng, seed, 120);
        var indexer = new ChainIndexer(new EthClient(new FakeNode(chain)), ChainIndexerTests.Options());
        await indexer.SyncAsync(chain.Head);
        for (int i = 0; i < 6; i++) chain.Mine(EngineLogs.RandomEvents(rng, 25, 5));
        await indexer.OnNewHeadAsync(chain.HeaderAt(chain.Head));
        BookAssert.Equal(BookAssert.Replay(chain), indexer.Book, $"seed {seed} before the reorg");

        chain.Reorg(depth, Enumerable.Range(0, depth + 2).Select(_ => EngineLogs.RandomEvents(rng, 30, 5)));
        await indexer.OnNewHeadAsync(chain.HeaderAt(chain.Head));
        BookAssert.Equal(BookAssert.Replay(chain), indexer.Book, $"seed {seed} depth {depth}");
        Assert.Equal(chain.HeaderAt(chain.Head).Hash, indexer.Book.HeadHash);
        Assert.Equal(1, indexer.Stats.Reorgs);
        Assert.Equal(depth, indexer.Stats.ReorgedBlocks);
    }
}
