using CrossMargin.Ethereum.Contracts;
using CrossMargin.Contracts;
using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Rpc;
using Xunit.Abstractions;

namespace CrossMargin.Devnet.Tests.Protocol;

/// <summary><see cref="DevnetState.DumpAsync"/> and <c>anvil --load-state</c>: a seeded devnet comes back with its accounts' state and the engine's event history.</summary>
public sealed class DevnetStateTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_dumped_seeded_devnet_reloads_with_its_state_and_its_engine_logs()
    {
        string dir = Directory.CreateTempSubdirectory("crossmargin-state-").FullName;
        string path = Path.Combine(dir, "state.json");
        try
        {
            DevnetDeployment deployment;
            Address[] accounts;
            CrossMarginEngine.HealthData[] health;
            LogEntry[] logs;
            ulong head;
            await using (var anvil = await AnvilProcess.StartAsync(ProtocolDevnet.Options))
            {
                deployment = await DevnetDeployer.DeployAsync(anvil.RpcUrl, anvil.ChainId);
                var seeded = await DevnetSeeder.SeedAsync(deployment, new DevnetSeedOptions { Accounts = 25, Seed = 77 });
                Assert.Equal(0, seeded.FailedAccounts);
                accounts = [.. seeded.Addresses];
                using var rpc = new JsonRpcClient(anvil.RpcUrl);
                var eth = new EthClient(rpc);
                head = await eth.BlockNumberAsync();
                health = await eth.CallAsync(new CrossMarginEngine(deployment.Engine).HealthBatch(accounts));
                logs = await eth.GetLogsAsync(new LogFilter { FromBlock = BlockTag.Number(0), ToBlock = BlockTag.Number(head), Addresses = [deployment.Engine] });
                long bytes = await DevnetState.DumpAsync(anvil.RpcUrl, path);
                output.WriteLine($"{accounts.Length} accounts, {logs.Length} engine logs up to block {head}; state {bytes} bytes");
            }

            await using var reloaded = await AnvilProcess.StartAsync(ProtocolDevnet.Options with { ExtraArguments = ["--load-state", path] });
            using var rpc2 = new JsonRpcClient(reloaded.RpcUrl);
            var eth2 = new EthClient(rpc2);
            Assert.Equal(head, await eth2.BlockNumberAsync());
            Assert.Equal(health, await eth2.CallAsync(new CrossMarginEngine(deployment.Engine).HealthBatch(accounts)));
            var logs2 = await eth2.GetLogsAsync(new LogFilter { FromBlock = BlockTag.Number(0), ToBlock = BlockTag.Number(head), Addresses = [deployment.Engine] });
            Assert.Equal(logs.Length, logs2.Length);
            Assert.Equal(logs.Select(l => (l.TransactionHash, l.LogIndex, Hex.Encode(l.Data))), logs2.Select(l => (l.TransactionHash, l.LogIndex, Hex.Encode(l.Data))));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
