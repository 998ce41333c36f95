using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Contracts;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Ethereum.Rpc;
using CrossMargin.Ethereum.Signing;
using CrossMargin.Ethereum.Transactions;
using CrossMargin.Keeper.Execution;
using CrossMargin.Keeper.Rpc;
using Microsoft.Data.Sqlite;

namespace CrossMargin.Devnet.Tests.Execution;

/// <summary>A fresh anvil, an executor for dev account 1 and a journal in a temporary directory.</summary>
internal sealed class ExecutorRig : IAsyncDisposable
{
    private readonly List<IDisposable> _disposables = [];

    private ExecutorRig(AnvilProcess anvil, string dir)
    {
        Anvil = anvil;
        Directory = dir;
        Rpc = new JsonRpcClient(anvil.RpcUrl, timeout: TimeSpan.FromSeconds(30));
        Eth = new EthClient(Rpc);
        Signer = new LocalTxSigner(PrivateKey.FromHex(AnvilDevAccounts.AnvilDevPrivateKey1), ownsKey: true);
        Options = new ExecutionOptions { ReplaceAfterBlocks = 2 };
    }

    public AnvilProcess Anvil { get; }
    public string Directory { get; }
    public JsonRpcClient Rpc { get; }
    public EthClient Eth { get; }
    public LocalTxSigner Signer { get; }
    public ExecutionOptions Options { get; }
    public string JournalPath => Path.Combine(Directory, "journal.db");
    public static Address Recipient => Address.Parse(AnvilDevAccounts.AnvilDevAddress2);
    public static UInt256 Value => UInt256.Parse("1000000000000000000");

    public static async Task<ExecutorRig> StartAsync() =>
        new(await AnvilProcess.StartAsync(), System.IO.Directory.CreateTempSubdirectory("cm-exec-devnet-").FullName);

    /// <summary>A new executor (and journal connection) over the same journal file: what a restarted process builds.</summary>
    public (TxExecutor Executor, TxJournal Journal) NewExecutor()
    {
        var journal = TxJournal.Open(JournalPath);
        _disposables.Add(journal);
        var executor = new TxExecutor(Eth, Signer, new NonceManager(Eth), new FeeEstimator(Eth, Options.Fees), journal, Options);
        return (executor, journal);
    }

    public static ContractTx Transfer(byte tag) => new(Recipient, [tag], UInt256.Zero, "transfer");

    public static ExecutionIntent Intent() =>
        ExecutionIntent.Liquidation([new LiquidationTarget(Recipient, 1, 1)], Value, DateTimeOffset.UnixEpoch, 0);

    public async Task<ulong> MineAsync()
    {
        await Rpc.MineAsync();
        return await Eth.BlockNumberAsync();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var d in _disposables) d.Dispose();
        Signer.Dispose();
        Rpc.Dispose();
        await Anvil.DisposeAsync();
        SqliteConnection.ClearAllPools();
        try
        {
            System.IO.Directory.Delete(Directory, true);
        }
        catch (IOException)
        {
        }
    }
}

public sealed class ExecutorDevnetTests
{
    private static List<ExecutionOutcome> Drain(TxExecutor executor)
    {
        var list = new List<ExecutionOutcome>();
        while (executor.Outcomes.TryRead(out var o)) list.Add(o);
        return list;
    }

    [Fact]
    public async Task Transaction_is_simulated_sent_and_seen_included()
    {
        await using var rig = await ExecutorRig.StartAsync();
        var (executor, journal) = rig.NewExecutor();
        await executor.StartAsync();
        var intent = ExecutorRig.Intent();
        var result = await executor.SubmitAsync(intent, ExecutorRig.Transfer(1), 50_000, ExecutorRig.Value);
        Assert.Equal(IntentState.Sent, result.State);

        // automine mines it; anvil may publish the receipt a moment later, so report blocks until it is seen
        for (int i = 0; i < 100 && journal.GetIntent(intent.Id)!.State == IntentState.Sent; i++)
        {
            await executor.OnNewBlockAsync(await rig.Eth.BlockNumberAsync());
            if (journal.GetIntent(intent.Id)!.State == IntentState.Sent) await Task.Delay(50);
        }
        var outcomes = Drain(executor);
        Assert.Equal([ExecutionOutcomeKind.Sent, ExecutionOutcomeKind.Included], outcomes.Select(o => o.Kind));
        var receipt = await rig.Eth.GetTransactionReceiptAsync(result.TxHash!.Value);
        Assert.NotNull(receipt);
        Assert.True(receipt.Succeeded);
        Assert.Equal(receipt.GasUsed, outcomes[1].GasUsed);
        Assert.Equal(receipt.EffectiveGasPrice, outcomes[1].EffectiveGasPrice);
        Assert.Equal(IntentState.Included, journal.GetIntent(intent.Id)!.State);
        Assert.Equal(AttemptState.Included, journal.GetAttempt(result.TxHash!.Value)!.State);
        await executor.DisposeAsync();
    }

    [Fact]
    public async Task Reverting_call_is_skipped_without_sending()
    {
        await using var rig = await ExecutorRig.StartAsync();
        // deploy a contract whose code is PUSH1 0 PUSH1 0 REVERT
        var deployer = new LocalTxSigner(PrivateKey.FromHex(AnvilDevAccounts.AnvilDevPrivateKey5), ownsKey: true);
        var create = UnsignedTransaction.Eip1559(rig.Anvil.ChainId, 0, 1_000_000_000, 100_000_000_000, 100_000, null, UInt256.Zero,
            Hex.Decode("0x6460006000fd6000526005601bf3"));
        var deployHash = await rig.Eth.SendRawTransactionAsync(deployer.Sign(create).ToArray());
        TransactionReceipt? deployReceipt = null;
        for (int i = 0; i < 100 && deployReceipt is null; i++)
        {
            deployReceipt = await rig.Eth.GetTransactionReceiptAsync(deployHash);
            if (deployReceipt is null) await Task.Delay(50);
        }
        Assert.NotNull(deployReceipt);
        Assert.True(deployReceipt.Succeeded, "deployment failed");
        Assert.NotNull(deployReceipt.ContractAddress);
        var deployed = deployReceipt.ContractAddress.Value;
        deployer.Dispose();

        var (executor, journal) = rig.NewExecutor();
        await executor.StartAsync();
        ulong countBefore = await rig.Eth.GetTransactionCountAsync(rig.Signer.Address);
        var intent = ExecutorRig.Intent();
        var result = await executor.SubmitAsync(intent, new ContractTx(deployed, [1, 2, 3, 4], UInt256.Zero, "liquidate()"), 100_000, ExecutorRig.Value);
        Assert.Equal(IntentState.Skipped, result.State);
        Assert.Contains("revert", result.Reason);
        Assert.Equal(countBefore, await rig.Eth.GetTransactionCountAsync(rig.Signer.Address, BlockTag.Pending));
        Assert.Empty(journal.GetAttempts(intent.Id));
        await executor.DisposeAsync();
    }

    [Fact]
    public async Task Stuck_transaction_is_replaced_with_bumped_fees_and_the_replacement_is_mined()
    {
        await using var rig = await ExecutorRig.StartAsync();
        var (executor, journal) = rig.NewExecutor();
        await executor.StartAsync();
        await rig.Rpc.SetAutomineAsync(false);
        ulong head = await rig.Eth.BlockNumberAsync();
        var intent = ExecutorRig.Intent();
        var first = await executor.SubmitAsync(intent, ExecutorRig.Transfer(1), 50_000, ExecutorRig.Value);

        // blocks pass (reported by the caller) without inclusion
        await executor.OnNewBlockAsync(head + 1);
        await executor.OnNewBlockAsync(head + 2);
        var attempts = journal.GetAttempts(intent.Id);
        Assert.Equal(2, attempts.Count);
        Assert.True(attempts[1].MaxFeePerGas * 10_000 >= attempts[0].MaxFeePerGas * 11_250);
        Assert.True(attempts[1].MaxPriorityFeePerGas * 10_000 >= attempts[0].MaxPriorityFeePerGas * 11_250);
        Assert.Equal(AttemptState.Sent, attempts[1].State); // anvil accepted the replacement

        await executor.OnNewBlockAsync(await rig.MineAsync());
        var outcomes = Drain(executor);
        Assert.Equal([ExecutionOutcomeKind.Sent, ExecutionOutcomeKind.Replaced, ExecutionOutcomeKind.Included], outcomes.Select(o => o.Kind));
        Assert.Equal(attempts[1].Hash, outcomes[2].TxHash);
        Assert.Null(await rig.Eth.GetTransactionReceiptAsync(first.TxHash!.Value));
        Assert.Equal(AttemptState.Replaced, journal.GetAttempt(attempts[0].Hash)!.State);
        Assert.Equal(AttemptState.Included, journal.GetAttempt(attempts[1].Hash)!.State);
        Assert.Equal(1UL, await rig.Eth.GetTransactionCountAsync(rig.Signer.Address));
        await executor.DisposeAsync();
    }

    [Fact]
    public async Task Cancelled_intent_is_replaced_by_a_self_transfer()
    {
        await using var rig = await ExecutorRig.StartAsync();
        var (executor, journal) = rig.NewExecutor();
        await executor.StartAsync();
        await rig.Rpc.SetAutomineAsync(false);
        var intent = ExecutorRig.Intent();
        await executor.SubmitAsync(intent, ExecutorRig.Transfer(1), 50_000, ExecutorRig.Value);
        Assert.True(await executor.CancelAsync(intent.Id, "liquidated by someone else"));

        await executor.OnNewBlockAsync(await rig.MineAsync());
        var outcomes = Drain(executor);
        Assert.Equal(ExecutionOutcomeKind.Cancelled, outcomes[^1].Kind);
        var receipt = (await rig.Eth.GetTransactionReceiptAsync(outcomes[^1].TxHash!.Value))!;
        Assert.Equal(rig.Signer.Address, receipt.To);
        Assert.Equal(rig.Signer.Address, receipt.From);
        Assert.Equal(IntentState.Cancelled, journal.GetIntent(intent.Id)!.State);
        Assert.Equal([AttemptState.Cancelled, AttemptState.Included], journal.GetAttempts(intent.Id).Select(a => a.State));
        await executor.DisposeAsync();
    }

    [Fact]
    public async Task Crash_and_restart_reconciles_without_duplicates_or_nonce_gaps()
    {
        await using var rig = await ExecutorRig.StartAsync();
        await rig.Rpc.SetAutomineAsync(false);
        var (crashed, _) = rig.NewExecutor();
        await crashed.StartAsync();
        var intents = new List<ExecutionIntent>();
        for (byte i = 0; i < 3; i++)
        {
            var intent = ExecutorRig.Intent();
            intents.Add(intent);
            Assert.Equal(IntentState.Sent, (await crashed.SubmitAsync(intent, ExecutorRig.Transfer(i), 50_000, ExecutorRig.Value)).State);
        }
        // the process dies: no dispose, no cleanup; a new process opens the same journal
        var (executor, journal) = rig.NewExecutor();
        var report = await executor.StartAsync();
        Assert.Equal(3, report.StillPending.Count);
        Assert.Equal([0UL, 1UL, 2UL], report.StillPending.Select(p => p.Nonce));
        Assert.Equal(3UL, report.NextNonce);
        Assert.Equal(3UL, await rig.Eth.GetTransactionCountAsync(rig.Signer.Address, BlockTag.Pending));

        // a new intent after the restart takes the next nonce, not a used one
        var fourth = ExecutorRig.Intent();
        var sent = await executor.SubmitAsync(fourth, ExecutorRig.Transfer(9), 50_000, ExecutorRig.Value);
        Assert.Equal(3UL, sent.Nonce);

        ulong block = await rig.MineAsync();
        await executor.OnNewBlockAsync(block);
        var header = (await rig.Eth.GetBlockByNumberAsync(block))!;
        Assert.Equal(4, header.TransactionHashes.Count); // each nonce once: no duplicate sends
        Assert.Equal(4UL, await rig.Eth.GetTransactionCountAsync(rig.Signer.Address));
        foreach (var intent in intents.Append(fourth))
        {
            Assert.Equal(IntentState.Included, journal.GetIntent(intent.Id)!.State);
            var included = Assert.Single(journal.GetAttempts(intent.Id), a => a.State == AttemptState.Included);
            Assert.Contains(included.Hash, header.TransactionHashes);
        }
        Assert.Empty(journal.GetOpenAttempts(rig.Signer.Address));
        Assert.Empty(executor.InFlight);
        await executor.DisposeAsync();
        await crashed.DisposeAsync();
    }

    [Fact]
    public async Task Resilient_client_fails_over_from_a_dead_endpoint_to_anvil()
    {
        await using var rig = await ExecutorRig.StartAsync();
        using var dead = new JsonRpcClient(new Uri("http://127.0.0.1:1/"), timeout: TimeSpan.FromSeconds(5));
        var options = new ResilientRpcOptions { MaxRetryAttempts = 1, RetryBaseDelay = TimeSpan.Zero };
        using var client = new ResilientRpcClient([new RpcEndpoint("dead", dead), new RpcEndpoint("anvil", rig.Rpc)], options);
        Assert.Equal(rig.Anvil.ChainId, await client.RequestAsync(EthRequests.ChainId()));
        var batch = client.CreateBatch();
        var id = batch.Add(EthRequests.ChainId());
        var count = batch.Add(EthRequests.GetTransactionCount(rig.Signer.Address, BlockTag.Latest));
        await batch.SendAsync();
        Assert.Equal(rig.Anvil.ChainId, await id);
        Assert.Equal(0UL, await count);
        Assert.Equal(4, client.Status[0].Errors); // two attempts for the call, two for the batch
        Assert.Equal(2, client.Status[1].Calls);
    }
}
