using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Ethereum.Rpc;
using Xunit.Abstractions;

namespace CrossMargin.Devnet.Tests.Protocol;

/// <summary><see cref="DevnetTxRunner"/> with large groups of transactions spread over many full blocks.</summary>
public sealed class TxRunnerBlockTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Many_full_blocks_in_a_row_do_not_price_the_later_transactions_out()
    {
        // 100 transfers of 21,000 gas fill a block: 1,500 of them make 15 full blocks, which would raise the base fee
        // about 6-fold, past the fee cap the runner signs with (3x the base fee at the start)
        await using var anvil = await AnvilProcess.StartAsync(new AnvilOptions { GasLimit = 2_100_000, Accounts = 1 });
        using var rpc = new JsonRpcClient(anvil.RpcUrl, timeout: TimeSpan.FromSeconds(120));
        var eth = new EthClient(rpc);
        var keys = Enumerable.Range(0, 15).Select(i => DevnetAccounts.Derive(4_242, i)).ToArray();
        try
        {
            foreach (var key in keys) await rpc.SetBalanceAsync(key.Address, DevnetDefaults.ToWad(10m));
            Address to = DevnetAccounts.Derive(4_242, 100).Address;
            var requests = keys.SelectMany(key => Enumerable.Range(0, 100).Select(n => new DevnetTxRequest(key, (ulong)n, to, [], UInt256.One, 21_000, $"transfer {n}")))
                .ToArray();
            ulong before = await eth.BlockNumberAsync();
            var runner = new DevnetTxRunner(rpc, anvil.ChainId) { LogsProveSuccess = true, TransactionsPerBlock = 10_000 };
            var outcomes = await runner.RunAsync(requests);
            ulong blocks = await eth.BlockNumberAsync() - before;
            output.WriteLine($"{outcomes.Count} transfers in {blocks} blocks");
            Assert.All(outcomes, o => Assert.True(o.Succeeded, o.ToString()));
            Assert.True(blocks >= 15);
            Assert.Equal((UInt256)(ulong)requests.Length, await eth.GetBalanceAsync(to, BlockTag.Latest));
        }
        finally
        {
            foreach (var key in keys) key.Dispose();
        }
    }
}
