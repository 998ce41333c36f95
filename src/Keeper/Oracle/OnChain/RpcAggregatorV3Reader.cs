using CrossMargin.Contracts;
using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Contracts;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Ethereum.Rpc;
using CrossMargin.Keeper.Oracle.Sources;

namespace CrossMargin.Keeper.Oracle.OnChain;

/// <summary>The latest round of an AggregatorV3 feed.</summary>
/// <param name="RoundId">Round id (low 64 bits: Chainlink's phase-prefixed ids keep the aggregator round there).</param>
/// <param name="Answer">Answer in the feed's decimals.</param>
/// <param name="UpdatedAt">Unix seconds.</param>
public readonly record struct FeedRound(ulong RoundId, Int256 Answer, ulong UpdatedAt);

/// <summary>
/// <see cref="IAggregatorV3Reader"/> over eth_call. Single reads go through <see cref="IEthClient"/>; the batched
/// <see cref="LatestRoundsAsync"/> sends one JSON-RPC batch when the client is an <see cref="EthClient"/> over a
/// <see cref="JsonRpcClient"/>, else one call per feed.
/// </summary>
public sealed class RpcAggregatorV3Reader : IAggregatorV3Reader
{
    private readonly IEthClient _eth;
    private readonly BlockTag _block;

    /// <param name="eth">The RPC client.</param>
    /// <param name="block">Block the single reads run at (default latest).</param>
    public RpcAggregatorV3Reader(IEthClient eth, BlockTag block = default)
    {
        ArgumentNullException.ThrowIfNull(eth);
        _eth = eth;
        _block = block;
    }

    /// <inheritdoc />
    public async ValueTask<(ulong roundId, Int256 answer, ulong updatedAt)> LatestRoundDataAsync(Address feed, CancellationToken cancellationToken)
    {
        var r = await _eth.CallAsync(new KeeperPriceFeed(feed).LatestRoundData(), _block, cancellationToken: cancellationToken).ConfigureAwait(false);
        FeedRound round = ToRound(r);
        return (round.RoundId, round.Answer, round.UpdatedAt);
    }

    /// <inheritdoc />
    public async ValueTask<byte> DecimalsAsync(Address feed, CancellationToken cancellationToken) =>
        await _eth.CallAsync(new KeeperPriceFeed(feed).Decimals(), _block, cancellationToken: cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// Latest rounds of several feeds at one block, batched. A feed without any round (reverts <c>NoSuchRound</c>
    /// or any other revert) gives null; transport errors throw.
    /// </summary>
    public Task<FeedRound?[]> LatestRoundsAsync(IReadOnlyList<Address> feeds, BlockTag block, CancellationToken cancellationToken) =>
        BatchCalls.RunAsync(_eth, feeds.Select(f => new KeeperPriceFeed(f).LatestRoundData()).ToArray(), block,
            r => (FeedRound?)ToRound(r), cancellationToken);

    internal static FeedRound ToRound(KeeperPriceFeed.LatestRoundDataResult r)
    {
        ulong updatedAt = r.Item3 > (UInt256)ulong.MaxValue ? ulong.MaxValue : (ulong)r.Item3;
        return new FeedRound((ulong)r.Item0, r.Item1, updatedAt);
    }
}

/// <summary>Runs several eth_calls at one block, as one JSON-RPC batch when the transport allows it.</summary>
internal static class BatchCalls
{
    /// <summary>Results in order; a call that reverts yields default (null for reference/nullable results).</summary>
    public static async Task<TOut?[]> RunAsync<TIn, TOut>(IEthClient eth, ContractCall<TIn>[] calls, BlockTag block,
        Func<TIn, TOut> map, CancellationToken cancellationToken)
    {
        var results = new TOut?[calls.Length];
        if (calls.Length == 0) return results;
        Task<TIn>[] tasks;
        if (eth is EthClient { Rpc: JsonRpcClient json } && calls.Length > 1)
        {
            RpcBatch batch = json.CreateBatch();
            tasks = calls.Select(c => batch.Add(c, block)).ToArray();
            await batch.SendAsync(cancellationToken).ConfigureAwait(false);
        }
        else
        {
            tasks = calls.Select(c => eth.CallAsync(c, block, cancellationToken: cancellationToken)).ToArray();
        }
        for (int i = 0; i < tasks.Length; i++)
        {
            try
            {
                results[i] = map(await tasks[i].ConfigureAwait(false));
            }
            catch (RpcException ex) when (ex.IsExecutionReverted || ex.RevertData is not null)
            {
                results[i] = default;
            }
        }
        return results;
    }
}
