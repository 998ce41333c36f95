using CrossMargin.Devnet;
using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Contracts;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Ethereum.Signing;
using CrossMargin.Ethereum.Transactions;
using CrossMargin.Keeper.Execution;
using CrossMargin.Keeper.Tests.Oracle;

namespace CrossMargin.Keeper.Tests.Execution;

/// <summary>An executor over a <see cref="FakeChain"/> and a journal in a temporary directory.</summary>
internal sealed class ExecutorHarness : IAsyncDisposable
{
    public static readonly Address Target = Address.Parse("0x5FbDB2315678afecb367f032d93F642f64180aa3");

    private readonly LocalTxSigner _signer = new(PrivateKey.FromHex(AnvilDevAccounts.AnvilDevPrivateKey1), ownsKey: true);

    public ExecutorHarness(ExecutionOptions? options = null, string? directory = null)
    {
        Directory = directory ?? System.IO.Directory.CreateTempSubdirectory("cm-exec-").FullName;
        Options = options ?? new ExecutionOptions { ReplaceAfterBlocks = 2 };
        Journal = TxJournal.Open(JournalPath, Time);
        Nonces = new NonceManager(Chain);
        Executor = new TxExecutor(Chain, _signer, Nonces, new FeeEstimator(Chain, Options.Fees), Journal, Options, Time);
    }

    public string Directory { get; }
    public string JournalPath => Path.Combine(Directory, "journal.db");
    public ManualTimeProvider Time { get; } = new();
    public FakeChain Chain { get; init; } = new();
    public ExecutionOptions Options { get; }
    public TxJournal Journal { get; private set; }
    public NonceManager Nonces { get; private set; }
    public TxExecutor Executor { get; private set; }
    public Address Sender => _signer.Address;

    public static ContractTx Liquidate(byte tag = 1) => new(Target, [0xde, 0xad, 0xbe, 0xef, tag], UInt256.Zero, "batchLiquidate(...)");

    public static ExecutionIntent Intent(ulong block = 100) =>
        ExecutionIntent.Liquidation([new LiquidationTarget(Address.Parse(AnvilDevAccounts.AnvilDevAddress3), 1, 5_000)],
            UInt256.Parse("1000000000000000000"), new DateTimeOffset(2024, 6, 1, 12, 0, 0, TimeSpan.Zero), block);

    /// <summary>1 ETH of value: affordable fees are far above the fake chain's.</summary>
    public static UInt256 Value => UInt256.Parse("1000000000000000000");

    /// <summary>Simulates a crash: drops executor, nonce manager and journal handle without any cleanup, opens new ones.</summary>
    public void Restart()
    {
        Journal.Dispose();
        Journal = TxJournal.Open(JournalPath, Time);
        Nonces = new NonceManager(Chain);
        Executor = new TxExecutor(Chain, _signer, Nonces, new FeeEstimator(Chain, Options.Fees), Journal, Options, Time);
    }

    public List<ExecutionOutcome> DrainOutcomes()
    {
        var list = new List<ExecutionOutcome>();
        while (Executor.Outcomes.TryRead(out var o)) list.Add(o);
        return list;
    }

    public async Task MineAsync(int blocks = 1)
    {
        for (int i = 0; i < blocks; i++)
        {
            Chain.Mine();
            await Executor.OnNewBlockAsync(Chain.Head);
        }
    }

    public async Task IdleBlocksAsync(int blocks)
    {
        // blocks pass without our transactions being mined
        Chain.MiningPaused = true;
        for (int i = 0; i < blocks; i++)
        {
            Chain.Mine();
            await Executor.OnNewBlockAsync(Chain.Head);
        }
        Chain.MiningPaused = false;
    }

    public async ValueTask DisposeAsync()
    {
        await Executor.DisposeAsync();
        Journal.Dispose();
        _signer.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // best effort
        }
    }
}
