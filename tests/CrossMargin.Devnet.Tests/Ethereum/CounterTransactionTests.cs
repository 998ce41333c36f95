using CrossMargin.Contracts;
using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Contracts;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Ethereum.Rpc;
using CrossMargin.Ethereum.Signing;
using CrossMargin.Ethereum.Transactions;

namespace CrossMargin.Devnet.Tests.Ethereum;

/// <summary>The Ethereum layer end to end on anvil: signed EIP-1559 deploy and calls through TransactionSender, receipts, logs, newHeads, custom errors.</summary>
public sealed class CounterTransactionTests : IAsyncLifetime, IDisposable
{
    private AnvilProcess _anvil = null!;
    private JsonRpcClient _rpc = null!;
    private EthClient _eth = null!;
    private TransactionSender _sender = null!;

    public async Task InitializeAsync()
    {
        _anvil = await AnvilProcess.StartAsync(new AnvilOptions { Accounts = 2 });
        _rpc = new JsonRpcClient(_anvil.RpcUrl);
        _eth = new EthClient(_rpc);
        _sender = new TransactionSender(_eth, new LocalTxSigner(PrivateKey.FromHex(AnvilDevAccounts.AnvilDevPrivateKey1), ownsKey: true), _anvil.ChainId);
    }

    public async Task DisposeAsync() => await _anvil.DisposeAsync();

    public void Dispose() => _rpc?.Dispose();

    [Fact]
    public async Task Deploy_call_send_and_decode_logs_and_errors()
    {
        var deployed = await _sender.DeployAsync(Counter.EncodeDeploy(7UL));
        Assert.True(deployed.Receipt.Succeeded);
        Assert.Equal((byte)2, deployed.Receipt.Type);
        Assert.Equal(TransactionSender.ContractAddress(_sender.Address, 0), deployed.Address);
        Assert.NotEmpty(await _eth.GetCodeAsync(deployed.Address));
        var counter = new Counter(deployed.Address);
        Assert.Equal((UInt256)7UL, await _eth.CallAsync(counter.Value()));
        Assert.Equal(_sender.Address, await _eth.CallAsync(counter.Owner()));

        // two sends in a row: the local nonce tracker hands out 1 and 2 without asking the node
        var h1 = await _sender.SendAsync(counter.Add(5UL, "five"));
        var h2 = await _sender.SendAsync(counter.Add(6UL, "six"));
        var r1 = await _sender.WaitForReceiptAsync(h1, TimeSpan.FromSeconds(30));
        var r2 = await _sender.WaitForReceiptAsync(h2, TimeSpan.FromSeconds(30));
        Assert.True(r1.Succeeded && r2.Succeeded);
        Assert.True(r2.BlockNumber >= r1.BlockNumber);
        Assert.Equal(3UL, await _eth.GetTransactionCountAsync(_sender.Address));
        Assert.True(Counter.IncrementedEvent.TryDecode(r2.Logs[0].Topics, r2.Logs[0].Data, out var ev));
        Assert.Equal(new Counter.IncrementedEvent(_sender.Address, (UInt256)18UL, "six"), ev);
        Assert.Equal(deployed.Address, r2.Logs[0].Address);
        var block = await _eth.GetBlockByNumberAsync(BlockTag.Number(r2.BlockNumber));
        Assert.NotNull(block?.BaseFeePerGas);
        Assert.True(r2.EffectiveGasPrice >= block!.BaseFeePerGas!.Value);

        // eth_call revert → TooLarge decoded through the binding
        var ex = await Assert.ThrowsAsync<RpcException>(() => _eth.CallAsync(counter.SimulateAdd(1_000_000UL, "too much")));
        Assert.NotNull(ex.RevertData);
        Assert.True(Counter.TryDecodeError(ex.RevertData, out var error));
        Assert.Equal(new Counter.TooLargeError((UInt256)1_000_018UL, (UInt256)1_000_000UL), error);

        // a mined failure (fixed gas skips estimation) → TransactionRevertedException with the replayed revert
        var reverted = await Assert.ThrowsAsync<TransactionRevertedException>(() => _sender.SendAndWaitAsync(counter.Add(2_000_000UL, "x"), gas: 200_000));
        Assert.False(reverted.Receipt.Succeeded);
        Assert.True(reverted.TryDecodeError(Counter.TryDecodeError, out var minedError));
        Assert.Equal(new Counter.TooLargeError((UInt256)2_000_018UL, (UInt256)1_000_000UL), minedError);
        Assert.Equal(Counter.AddSignature, reverted.Signature);
        Assert.Equal((UInt256)18UL, await _eth.CallAsync(counter.Value()));
    }

    [Fact]
    public async Task NewHeads_over_websocket_report_the_block_of_a_sent_transaction()
    {
        var counter = new Counter((await _sender.DeployAsync(Counter.EncodeDeploy(1UL))).Address);
        await using var ws = new WebSocketRpcClient(new WebSocketRpcClientOptions { Endpoint = _anvil.WsUrl });
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using var heads = await ws.SubscribeNewHeadsAsync(cts.Token);
        var receipt = await _sender.SendAndWaitAsync(counter.Add(1UL, "ws"));
        await foreach (var e in heads.ReadAllAsync(cts.Token))
        {
            if (e.IsGap) continue;
            if (e.Value!.Number < receipt.BlockNumber) continue;
            Assert.Equal(receipt.BlockNumber, e.Value.Number);
            Assert.Equal(receipt.BlockHash, e.Value.Hash);
            return;
        }

        Assert.Fail("no newHeads event");
    }

    [Fact]
    public async Task Fees_follow_the_latest_base_fee_and_respect_caps()
    {
        var latest = await _eth.GetBlockByNumberAsync(BlockTag.Latest);
        UInt256 baseFee = latest!.BaseFeePerGas!.Value;
        var fees = await _sender.GetFeesAsync();
        Assert.Equal(baseFee + baseFee + fees.MaxPriorityFeePerGas, fees.MaxFeePerGas);

        var capped = new TransactionSender(_eth, new LocalTxSigner(PrivateKey.FromHex(AnvilDevAccounts.AnvilDevPrivateKey0), ownsKey: true), _anvil.ChainId,
            new TransactionSenderOptions { PriorityFee = 5UL, MaxFeeCap = 3UL });
        var c = await capped.GetFeesAsync();
        Assert.Equal((UInt256)3UL, c.MaxFeePerGas);
        Assert.Equal((UInt256)3UL, c.MaxPriorityFeePerGas);
    }

    [Fact]
    public void Contract_address_matches_the_known_create_address()
    {
        // anvil dev account 0's first contract (nonce 0) is the well-known 0x5FbDB2315678afecb367f032d93F642f64180aa3
        Assert.Equal(Address.Parse("0x5FbDB2315678afecb367f032d93F642f64180aa3"), TransactionSender.ContractAddress(Address.Parse(AnvilDevAccounts.AnvilDevAddress0), 0));
        Assert.Equal(Address.Parse("0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"), TransactionSender.ContractAddress(Address.Parse(AnvilDevAccounts.AnvilDevAddress0), 1));
    }
}
