using System.Text;
using System.Text.Json;
using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Abi;
using CrossMargin.Ethereum.Crypto;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Ethereum.Rpc;

namespace CrossMargin.Devnet.Tests.Rpc;

/// <summary>One anvil for this class only (the tests mine blocks and deploy contracts).</summary>
public sealed class RpcAnvilFixture : IAsyncLifetime
{
    public AnvilProcess Anvil { get; private set; } = null!;
    public JsonRpcClient Rpc { get; private set; } = null!;
    public EthClient Eth { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Anvil = await AnvilProcess.StartAsync();
        Rpc = new JsonRpcClient(Anvil.RpcUrl, timeout: TimeSpan.FromSeconds(30));
        Eth = new EthClient(Rpc);
    }

    public async Task DisposeAsync()
    {
        Rpc.Dispose();
        await Anvil.DisposeAsync();
    }
}

public sealed class EthClientDevnetTests(RpcAnvilFixture fixture) : IClassFixture<RpcAnvilFixture>
{
    private static readonly UInt256 TenThousandEther = (UInt256)System.Numerics.BigInteger.Pow(10, 22);

    // Hang guard only.
    private static CancellationToken Guard() => new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token;

    [Fact]
    public async Task ChainId_blockNumber_and_dev_balances_in_one_batch()
    {
        var batch = fixture.Rpc.CreateBatch();
        var chainId = batch.Add(EthRequests.ChainId());
        var blockNumber = batch.Add(EthRequests.BlockNumber());
        var balances = fixture.Anvil.DevAccounts.Select(a => batch.Add(EthRequests.GetBalance(a.Address, BlockTag.Earliest))).ToArray();
        var nonce = batch.Add(EthRequests.GetTransactionCount(fixture.Anvil.DevAccounts[9].Address, BlockTag.Pending));
        await batch.SendAsync(Guard());

        Assert.Equal(fixture.Anvil.ChainId, await chainId);
        Assert.Equal(31337UL, await fixture.Eth.ChainIdAsync(Guard()));
        Assert.True(await blockNumber >= 0);
        foreach (var b in balances) Assert.Equal(TenThousandEther, await b);
        Assert.Equal(0UL, await nonce);
    }

    [Fact]
    public async Task Mined_blocks_have_consistent_headers_and_fee_history()
    {
        ulong before = await fixture.Eth.BlockNumberAsync(Guard());
        await fixture.Rpc.MineAsync(3, cancellationToken: Guard());
        ulong after = await fixture.Eth.BlockNumberAsync(Guard());
        Assert.True(after >= before + 3);

        var head = await fixture.Eth.GetBlockByNumberAsync(BlockTag.Number(after), Guard());
        var parent = await fixture.Eth.GetBlockByNumberAsync(BlockTag.Number(after - 1), Guard());
        var latest = await fixture.Eth.GetBlockByNumberAsync(BlockTag.Latest, Guard());
        Assert.NotNull(head);
        Assert.NotNull(parent);
        Assert.Equal(after, head.Number);
        Assert.Equal(parent.Hash, head.ParentHash);
        Assert.True(head.Timestamp >= parent.Timestamp);
        Assert.NotNull(head.BaseFeePerGas);
        Assert.True(head.GasLimit > 0);
        Assert.True(latest!.Number >= after);
        Assert.Null(await fixture.Eth.GetBlockByNumberAsync(BlockTag.Number(after + 1_000_000), Guard()));

        var history = await fixture.Eth.FeeHistoryAsync(3, BlockTag.Number(after), [25, 75], Guard());
        Assert.Equal(after - 2, history.OldestBlock);
        Assert.Equal(4, history.BaseFeePerGas.Count);
        Assert.Equal(3, history.GasUsedRatio.Count);
        Assert.Equal(3, history.Reward!.Count);
        Assert.Equal(head.BaseFeePerGas, history.BaseFeePerGas[2]);
        _ = await fixture.Eth.MaxPriorityFeePerGasAsync(Guard());
    }

    [Fact]
    public async Task Counter_deploy_add_receipt_logs_and_custom_error_revert()
    {
        var from = fixture.Anvil.DevAccounts[1].Address;
        var artifact = CrossMargin.Devnet.ContractsAbi.Load("Counter");
        var abi = ContractAbi.Parse(artifact.AbiJson);

        // Anvil's dev accounts are unlocked: eth_sendTransaction lets these tests run before transaction signing exists.
        byte[] creation = [.. artifact.Bytecode, .. Word(7)];
        var deployHash = await SendTransactionAsync(from, null, creation);
        var deployReceipt = await WaitReceiptAsync(deployHash);
        Assert.True(deployReceipt.Succeeded);
        Assert.Equal(from, deployReceipt.From);
        Assert.Null(deployReceipt.To);
        var counter = deployReceipt.ContractAddress!.Value;
        Assert.NotEmpty(await fixture.Eth.GetCodeAsync(counter, BlockTag.Latest, Guard()));

        // value() == 7
        byte[] valueCall = Selector("value()");
        Assert.Equal(Word(7), await fixture.Eth.CallAsync(new CallRequest { To = counter, Data = valueCall }, BlockTag.Latest, Guard()));

        byte[] addCall = AddCall(5, "hello");
        ulong gas = await fixture.Eth.EstimateGasAsync(new CallRequest { From = from, To = counter, Data = addCall }, null, Guard());
        Assert.True(gas > 21_000);
        var addHash = await SendTransactionAsync(from, counter, addCall);
        var receipt = await WaitReceiptAsync(addHash);
        Assert.True(receipt.Succeeded);
        Assert.True(receipt.GasUsed > 21_000);
        Assert.False(receipt.EffectiveGasPrice.IsZero);
        var log = Assert.Single(receipt.Logs);
        var incremented = Keccak256.ComputeUtf8("Incremented(address,uint256,string)");
        Assert.Equal(counter, log.Address);
        Assert.Equal(incremented, log.Topics[0]);
        Assert.Equal(new Hash32([.. new byte[12], .. from.ToArray()]), log.Topics[1]);
        Assert.Equal(new Hash32(Word(12)), log.Topics[2]);

        var logs = await fixture.Eth.GetLogsAsync(new LogFilter
        {
            FromBlock = BlockTag.Number(receipt.BlockNumber),
            ToBlock = BlockTag.Latest,
            Addresses = [counter],
            Topics = [[incremented, Keccak256.ComputeUtf8("Other()")], null, [new Hash32(Word(12))]],
        }, Guard());
        var found = Assert.Single(logs);
        Assert.Equal(addHash, found.TransactionHash);
        Assert.Equal(log.Data, found.Data);
        Assert.Empty(await fixture.Eth.GetLogsAsync(new LogFilter { BlockHash = receipt.BlockHash, Topics = [[Keccak256.ComputeUtf8("Other()")]] }, Guard()));
        Assert.Single(await fixture.Eth.GetLogsAsync(new LogFilter { BlockHash = receipt.BlockHash, Addresses = [counter] }, Guard()));

        // 12 + 1_000_000 > LIMIT: TooLarge(1000012, 1000000) comes back as revert data.
        var ex = await Assert.ThrowsAsync<RpcException>(() =>
            fixture.Eth.CallAsync(new CallRequest { From = from, To = counter, Data = AddCall(1_000_000, "big") }, BlockTag.Latest, Guard()));
        Assert.True(ex.IsExecutionReverted);
        Assert.Equal([.. Selector("TooLarge(uint256,uint256)"), .. Word(1_000_012), .. Word(1_000_000)], ex.RevertData!);
        var reason = AbiRevert.Decode(ex.RevertData, abi);
        Assert.Equal("TooLarge", reason.Error!.Name);
        Assert.Equal([(UInt256)1_000_012UL, (UInt256)1_000_000UL], reason.Arguments.Cast<UInt256>());

        Assert.Null(await fixture.Eth.GetTransactionReceiptAsync(Keccak256.ComputeUtf8("no such transaction"), Guard()));
    }

    [Fact]
    public async Task NewHeads_over_websocket_while_mining_match_http_blocks()
    {
        await using var ws = new WebSocketRpcClient(new WebSocketRpcClientOptions { Endpoint = fixture.Anvil.WsUrl });
        var ct = Guard();
        await using var heads = await ws.SubscribeNewHeadsAsync(ct);
        ulong start = await new EthClient(ws).BlockNumberAsync(ct);
        await fixture.Rpc.MineAsync(3, cancellationToken: ct);

        var seen = new List<BlockHeader>();
        await foreach (var item in heads.ReadAllAsync(ct))
        {
            Assert.False(item.IsGap);
            seen.Add(item.Value!);
            if (item.Value!.Number >= start + 3) break;
        }
        // Other tests may mine concurrently on this anvil: check ordering and linkage, not exact counts.
        for (int i = 1; i < seen.Count; i++)
        {
            Assert.True(seen[i].Number > seen[i - 1].Number);
            if (seen[i].Number == seen[i - 1].Number + 1) Assert.Equal(seen[i - 1].Hash, seen[i].ParentHash);
        }
        var fromHttp = await fixture.Eth.GetBlockByNumberAsync(BlockTag.Number(seen[^1].Number), ct);
        Assert.Equal(fromHttp!.Hash, seen[^1].Hash);
        Assert.Equal(seen[^1].Number, heads.LastSeenBlock);
    }

    [Fact]
    public async Task Snapshot_and_revert_restore_a_balance()
    {
        var ct = Guard();
        var account = fixture.Anvil.DevAccounts[8].Address;
        var snapshot = await fixture.Rpc.SnapshotAsync(ct);
        await fixture.Rpc.SetBalanceAsync(account, (UInt256)12345UL, ct);
        Assert.Equal((UInt256)12345UL, await fixture.Eth.GetBalanceAsync(account, BlockTag.Latest, ct));
        Assert.True(await fixture.Rpc.RevertAsync(snapshot, ct));
        Assert.Equal(TenThousandEther, await fixture.Eth.GetBalanceAsync(account, BlockTag.Latest, ct));
    }

    private async Task<Hash32> SendTransactionAsync(Address from, Address? to, byte[] data) =>
        await fixture.Rpc.RequestAsync("eth_sendTransaction", w =>
        {
            w.WriteStartObject();
            w.WritePropertyName("from");
            w.WriteAddress(from);
            if (to is { } t)
            {
                w.WritePropertyName("to");
                w.WriteAddress(t);
            }
            w.WritePropertyName("data");
            w.WriteData(data);
            w.WriteEndObject();
        }, static r => r.ReadHash(), Guard());

    private async Task<TransactionReceipt> WaitReceiptAsync(Hash32 hash)
    {
        var ct = Guard();
        while (true)
        {
            if (await fixture.Eth.GetTransactionReceiptAsync(hash, ct) is { } receipt) return receipt;
            await Task.Delay(50, ct);
        }
    }

    private static byte[] Selector(string signature) => Keccak256.ComputeUtf8(signature).ToArray()[..4];

    private static byte[] Word(ulong value)
    {
        var w = new byte[32];
        ((UInt256)value).WriteBigEndian(w);
        return w;
    }

    private static byte[] AddCall(ulong amount, string note)
    {
        byte[] text = Encoding.UTF8.GetBytes(note);
        var padded = new byte[(text.Length + 31) / 32 * 32];
        text.CopyTo(padded, 0);
        return [.. Selector("add(uint256,string)"), .. Word(amount), .. Word(64), .. Word((ulong)text.Length), .. padded];
    }
}
