using System.Diagnostics;
using System.Globalization;
using CrossMargin.Contracts;
using CrossMargin.Devnet;
using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Contracts;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Ethereum.Rpc;

namespace CrossMargin.Keeper.Bench;

/// <summary>The devnet steps the benchmark harnesses share: seeding in chunks, the keeper's funding and the block size, /proc reads.</summary>
internal static class BenchDevnet
{
    /// <summary>Block gas limit once seeded (seeding runs with a larger one).</summary>
    public const ulong BlockGasLimit = 30_000_000;

    /// <summary>Seeds <paramref name="accounts"/> accounts (seed 11) in chunks of 1,000, logging progress every 10,000.</summary>
    public static async Task<(List<Address> Addresses, TimeSpan Elapsed)> SeedAsync(DevnetDeployment deployment, int accounts, TextWriter log, CancellationToken ct)
    {
        var watch = Stopwatch.StartNew();
        var addresses = new List<Address>(accounts);
        for (int first = 0; first < accounts; first += 1000)
        {
            var part = await DevnetSeeder.SeedAsync(deployment, new DevnetSeedOptions { Accounts = Math.Min(1000, accounts - first), Seed = 11, FirstIndex = first, RaiseDepositCaps = true }, ct)
                .ConfigureAwait(false);
            addresses.AddRange(part.Addresses);
            if ((first / 1000) % 10 == 9 && first + 1000 < accounts)
                await log.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"  {first + 1000} accounts seeded ({watch.Elapsed.TotalSeconds:F0} s)")).ConfigureAwait(false);
        }
        watch.Stop();
        await log.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"  {accounts} accounts seeded in {watch.Elapsed.TotalSeconds:F1} s")).ConfigureAwait(false);
        return (addresses, watch.Elapsed);
    }

    /// <summary>
    /// Settlement tokens for the keeper's collateral sales, every oracle at its initial price, and blocks of
    /// <see cref="BlockGasLimit"/>. Returns the price driver (it sends with the deployer key through <paramref name="sender"/>).
    /// </summary>
    public static async Task<PriceDriver> PrepareAsync(DevnetDeployment deployment, JsonRpcClient rpc, TransactionSender sender, Address keeper, CancellationToken ct)
    {
        await sender.SendAndWaitAsync(new MockERC20(deployment.Assets[0].Token).Mint(keeper, new UInt256(1_000_000_000UL * 1_000_000UL)), cancellationToken: ct)
            .ConfigureAwait(false);
        var prices = new PriceDriver(deployment, sender, rpc);
        await prices.SetPricesAsync(DevnetDefaults.Oracles.ToDictionary(o => o.Symbol, o => o.InitialPrice), cancellationToken: ct).ConfigureAwait(false);
        await rpc.RequestAsync(new RpcRequest<bool>("evm_setBlockGasLimit", w => w.WriteStringValue(Hex.EncodeQuantity(BlockGasLimit)), _ => true), ct)
            .ConfigureAwait(false);
        return prices;
    }

    /// <summary>A size field (in kB, e.g. <c>VmRSS:</c>, <c>VmHWM:</c>) of <c>/proc/&lt;pid&gt;/status</c> (<c>self</c> by default), in bytes.</summary>
    public static long ProcStatus(string field, int? pid = null)
    {
        string path = $"/proc/{(pid is { } p ? p.ToString(CultureInfo.InvariantCulture) : "self")}/status";
        foreach (string line in File.ReadLines(path))
        {
            if (!line.StartsWith(field, StringComparison.Ordinal)) continue;
            return long.Parse(line[field.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
        }
        throw new InvalidOperationException($"{field} missing from {path}");
    }
}
