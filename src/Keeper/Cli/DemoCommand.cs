using System.CommandLine;
using System.Diagnostics;
using CrossMargin.Contracts;
using CrossMargin.Devnet;
using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Contracts;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Ethereum.Rpc;
using CrossMargin.Ethereum.Signing;
using CrossMargin.Ethereum.Transactions;

namespace CrossMargin.Keeper.Cli;

/// <summary>
/// `crossmargin demo`: the showcase on the embedded devnet. Starts anvil, deploys and seeds the protocol,
/// shows the accounts' health as read from the engine, drives a crash (ETH and BTC fall 25% over three
/// blocks) and shows how the accounts' health moves. Everything shown is read from the chain.
/// </summary>
public static class DemoCommand
{
    public static Command Create()
    {
        var accounts = new Option<int>("--accounts") { Description = "Accounts to seed (10..5000).", DefaultValueFactory = _ => 200 };
        var seed = new Option<ulong>("--seed") { Description = "Seed of account keys and portfolios.", DefaultValueFactory = _ => 7 };
        var demo = new Command("demo", "Start the embedded devnet, deploy and seed the protocol, drive a crash and show account health.")
        {
            accounts, seed,
        };
        demo.SetAction((parseResult, ct) => RunAsync(parseResult.GetValue(accounts), parseResult.GetValue(seed), ct));
        return demo;
    }

    private static async Task<int> RunAsync(int accountCount, ulong seed, CancellationToken ct)
    {
        if (accountCount is < 10 or > 5000)
        {
            await Console.Error.WriteLineAsync("--accounts must be between 10 and 5000.").ConfigureAwait(false);
            return DevnetCommand.BadArguments;
        }

        var total = Stopwatch.StartNew();
        Console.WriteLine("CrossMargin demo: embedded devnet");
        await using var anvil = await AnvilProcess.StartAsync(new AnvilOptions { GasLimit = 1_000_000_000 }, ct).ConfigureAwait(false);
        Console.WriteLine($"  anvil {anvil.RpcUrl} chain {anvil.ChainId}");

        var deployment = await DevnetDeployer.DeployAsync(anvil.RpcUrl, anvil.ChainId, wsUrl: anvil.WsUrl, cancellationToken: ct).ConfigureAwait(false);
        Console.WriteLine($"  deployed engine {deployment.Engine}, oracle hub {deployment.OracleHub}");
        var seeded = await DevnetSeeder.SeedAsync(deployment, new DevnetSeedOptions { Accounts = accountCount, Seed = seed }, ct).ConfigureAwait(false);
        Console.WriteLine($"  seeded {seeded.Accounts.Count} accounts with {seeded.Transactions} transactions in {seeded.Elapsed.TotalSeconds:0.0} s ({seeded.FailedAccounts} with a failed step)");

        using var http = new JsonRpcClient(anvil.RpcUrl);
        var eth = new EthClient(http);
        var engine = new CrossMarginEngine(deployment.Engine);
        Address[] addresses = seeded.Addresses.ToArray();

        using var key = PrivateKey.FromHex(AnvilDevAccounts.Deployer.PrivateKeyHex);
        using var signer = new LocalTxSigner(key);
        var sender = new TransactionSender(eth, signer, anvil.ChainId);
        var prices = new PriceDriver(deployment, sender, http);
        await prices.SetPricesAsync(DevnetDefaults.Oracles.ToDictionary(o => o.Symbol, o => o.InitialPrice), cancellationToken: ct).ConfigureAwait(false);

        Console.WriteLine();
        Console.WriteLine("  step              block   healthy  restricted  liquidatable  insolvent");
        await ReportAsync("seeded", eth, engine, addresses, ct).ConfigureAwait(false);
        for (int step = 1; step <= 3; step++)
        {
            // three equal multiplicative steps: 0.9086^3 ~= 0.75
            await prices.MovePercentAsync(new Dictionary<string, decimal> { ["ETH/USD"] = -9.14m, ["BTC/USD"] = -9.14m }, ct).ConfigureAwait(false);
            await ReportAsync($"crash step {step}", eth, engine, addresses, ct).ConfigureAwait(false);
        }

        Console.WriteLine();
        Console.WriteLine("  Liquidatable accounts are what the keeper daemon (crossmargin run) picks up and liquidates.");
        Console.WriteLine($"  done in {total.Elapsed.TotalSeconds:0.0} s");
        return 0;
    }

    private static async Task ReportAsync(string label, EthClient eth, CrossMarginEngine engine, Address[] accounts, CancellationToken ct)
    {
        ulong block = await eth.BlockNumberAsync(ct).ConfigureAwait(false);
        int healthy = 0, restricted = 0, liquidatable = 0, insolvent = 0;
        foreach (var chunk in accounts.Chunk(200))
        {
            var health = await eth.CallAsync(engine.HealthBatch(chunk), BlockTag.Number(block), cancellationToken: ct).ConfigureAwait(false);
            foreach (var h in health)
            {
                if (h.Equity.IsNegative) insolvent++;
                else if (h.Equity < (Int256)h.MaintenanceMargin) liquidatable++;
                else if (h.InitialEquity < (Int256)h.InitialMargin) restricted++;
                else healthy++;
            }
        }
        Console.WriteLine($"  {label,-16} {block,6}   {healthy,7}  {restricted,10}  {liquidatable,12}  {insolvent,9}");
    }
}
