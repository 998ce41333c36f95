using CrossMargin.Contracts;
using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Contracts;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Ethereum.Rpc;

namespace CrossMargin.Devnet;

/// <summary>The two price sources of every devnet oracle id.</summary>
[Flags]
public enum PriceSources
{
    None = 0,
    PushFeed = 1,
    Pyth = 2,
    Both = PushFeed | Pyth,
}

/// <summary>One price to write: oracle symbol (e.g. "ETH/USD"), sources, USD price.</summary>
public readonly record struct PriceUpdate(string Oracle, PriceSources Sources, decimal Price);

/// <summary>
/// Drives devnet prices: pushes to the KeeperPriceFeeds through OracleHub.pushPrices and to MockPyth through
/// updatePriceFeeds (update bytes from its pure createPriceFeedUpdateData, fee from getUpdateFee). Each update
/// pins the next block's timestamp (latest + 1 unless given) so both sources carry the same, strictly increasing
/// time. Test helpers move prices by percent, make one source diverge, or let one go stale.
/// Sends through the caller's <see cref="TransactionSender"/> (which must hold PRICE_PUSHER_ROLE on the hub).
/// Not thread-safe.
/// </summary>
public sealed class PriceDriver
{
    private const int PriceDecimals = 8;
    private const ulong UpdateGas = 1_500_000;
    private readonly DevnetDeployment _deployment;
    private readonly TransactionSender _sender;
    private readonly IRpcClient _rpc;
    private readonly OracleHub _hub;
    private readonly MockPyth _pyth;
    private readonly Dictionary<(string, PriceSources), decimal> _prices = [];

    public PriceDriver(DevnetDeployment deployment, TransactionSender sender, IRpcClient rpc)
    {
        ArgumentNullException.ThrowIfNull(deployment);
        ArgumentNullException.ThrowIfNull(sender);
        ArgumentNullException.ThrowIfNull(rpc);
        _deployment = deployment;
        _sender = sender;
        _rpc = rpc;
        _hub = new OracleHub(deployment.OracleHub);
        _pyth = new MockPyth(deployment.MockPyth);
    }

    /// <summary>The last price this driver wrote to a source (not read from chain).</summary>
    public decimal? LastPrice(string oracle, PriceSources source = PriceSources.PushFeed) =>
        _prices.TryGetValue((oracle, source), out var p) ? p : null;

    /// <summary>Sets prices on the given sources of each oracle (same timestamp for all).</summary>
    public Task<ulong> SetPricesAsync(IReadOnlyDictionary<string, decimal> prices, PriceSources sources = PriceSources.Both, ulong? timestamp = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prices);
        return UpdateAsync(prices.Select(kv => new PriceUpdate(kv.Key, sources, kv.Value)).ToArray(), timestamp, cancellationToken);
    }

    /// <summary>Moves the oracle's price by <paramref name="percent"/> (e.g. -20) on both sources from the last push-feed price.</summary>
    public Task<ulong> MovePercentAsync(string oracle, decimal percent, CancellationToken cancellationToken = default) =>
        MovePercentAsync(new Dictionary<string, decimal> { [oracle] = percent }, cancellationToken);

    /// <summary>Moves several oracles by percent in one update.</summary>
    public Task<ulong> MovePercentAsync(IReadOnlyDictionary<string, decimal> percents, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(percents);
        var updates = percents.Select(kv =>
        {
            decimal last = LastPrice(kv.Key) ?? throw new InvalidOperationException($"No known price for {kv.Key}: set one first.");
            return new PriceUpdate(kv.Key, PriceSources.Both, last * (1 + (kv.Value / 100m)));
        }).ToArray();
        return UpdateAsync(updates, null, cancellationToken);
    }

    /// <summary>Sets the Pyth price <paramref name="percent"/> away from the push feed's, refreshing both (for divergence tests).</summary>
    public Task<ulong> DivergeAsync(string oracle, decimal percent, CancellationToken cancellationToken = default)
    {
        decimal last = LastPrice(oracle) ?? throw new InvalidOperationException($"No known price for {oracle}: set one first.");
        return UpdateAsync(
        [
            new PriceUpdate(oracle, PriceSources.PushFeed, last),
            new PriceUpdate(oracle, PriceSources.Pyth, last * (1 + (percent / 100m))),
        ], null, cancellationToken);
    }

    /// <summary>
    /// Jumps the chain clock past the staleness limit of the oracle's sources and refreshes every source the
    /// driver knows except <paramref name="staleSources"/> of <paramref name="oracle"/>, which go stale.
    /// </summary>
    public async Task<ulong> MakeStaleAsync(string oracle, PriceSources staleSources, CancellationToken cancellationToken = default)
    {
        var o = _deployment.Oracle(oracle);
        ulong now = await LatestTimestampAsync(cancellationToken).ConfigureAwait(false);
        ulong target = now + o.MaxStalenessSeconds + 1;
        var refresh = _prices
            .Where(kv => !(kv.Key.Item1 == oracle && (kv.Key.Item2 & staleSources) != 0))
            .Select(kv => new PriceUpdate(kv.Key.Item1, kv.Key.Item2, kv.Value))
            .ToArray();
        if (refresh.Length == 0)
        {
            await AdvanceTimeAsync(target - now, cancellationToken).ConfigureAwait(false);
            return target;
        }

        return await UpdateAsync(refresh, target, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Mines one block <paramref name="seconds"/> after the latest one; returns its timestamp.</summary>
    public async Task<ulong> AdvanceTimeAsync(ulong seconds, CancellationToken cancellationToken = default)
    {
        ulong ts = await LatestTimestampAsync(cancellationToken).ConfigureAwait(false) + seconds;
        await _rpc.SetNextBlockTimestampAsync(ts, cancellationToken).ConfigureAwait(false);
        await _rpc.MineAsync(1, null, cancellationToken).ConfigureAwait(false);
        return ts;
    }

    /// <summary>
    /// Writes the updates with one OracleHub.pushPrices and one MockPyth.updatePriceFeeds, the next block's
    /// timestamp pinned to <paramref name="timestamp"/> (default latest + 1). Returns the timestamp used.
    /// </summary>
    public async Task<ulong> UpdateAsync(IReadOnlyList<PriceUpdate> updates, ulong? timestamp = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(updates);
        ulong ts = timestamp ?? await LatestTimestampAsync(cancellationToken).ConfigureAwait(false) + 1;
        var feeds = new List<Address>();
        var answers = new List<Int256>();
        var pythData = new List<byte[]>();
        foreach (var u in updates)
        {
            var oracle = _deployment.Oracle(u.Oracle);
            long answer = ToAnswer(u.Price);
            if ((u.Sources & PriceSources.PushFeed) != 0)
            {
                feeds.Add(oracle.PushFeed);
                answers.Add(answer);
            }

            if ((u.Sources & PriceSources.Pyth) != 0)
            {
                pythData.Add(await _sender.Eth.CallAsync(
                    _pyth.CreatePriceFeedUpdateData(oracle.PythPriceId, answer, 0, -PriceDecimals, answer, 0, ts, ts - 1),
                    cancellationToken: cancellationToken).ConfigureAwait(false));
            }
        }

        await _rpc.SetNextBlockTimestampAsync(ts, cancellationToken).ConfigureAwait(false);
        var hashes = new List<(Hash32 Hash, string What)>();
        if (feeds.Count > 0)
        {
            var at = Enumerable.Repeat((UInt256)ts, feeds.Count).ToArray();
            hashes.Add((await _sender.SendAsync(_hub.PushPrices([.. feeds], [.. answers], at), UpdateGas, cancellationToken).ConfigureAwait(false), "OracleHub.pushPrices"));
        }

        if (pythData.Count > 0)
        {
            byte[][] data = [.. pythData];
            UInt256 fee = await _sender.Eth.CallAsync(_pyth.GetUpdateFee(data), cancellationToken: cancellationToken).ConfigureAwait(false);
            hashes.Add((await _sender.SendAsync(_pyth.UpdatePriceFeeds(data, fee), UpdateGas, cancellationToken).ConfigureAwait(false), "MockPyth.updatePriceFeeds"));
        }

        foreach (var (hash, what) in hashes)
        {
            var receipt = await _sender.WaitForReceiptAsync(hash, null, cancellationToken).ConfigureAwait(false);
            if (!receipt.Succeeded) throw new TransactionRevertedException(receipt, what, null);
        }

        foreach (var u in updates)
        {
            if ((u.Sources & PriceSources.PushFeed) != 0) _prices[(u.Oracle, PriceSources.PushFeed)] = u.Price;
            if ((u.Sources & PriceSources.Pyth) != 0) _prices[(u.Oracle, PriceSources.Pyth)] = u.Price;
        }

        return ts;
    }

    /// <summary>USD price → 8-decimal answer (rounded half away from zero).</summary>
    public static long ToAnswer(decimal price)
    {
        if (price <= 0) throw new ArgumentOutOfRangeException(nameof(price), "prices must be positive");
        return decimal.ToInt64(decimal.Round(price * 100_000_000m, MidpointRounding.AwayFromZero));
    }

    private async Task<ulong> LatestTimestampAsync(CancellationToken cancellationToken)
    {
        var latest = await _sender.Eth.GetBlockByNumberAsync(BlockTag.Latest, cancellationToken).ConfigureAwait(false)
            ?? throw new DevnetException("The node returned no latest block.");
        return latest.Timestamp;
    }
}
