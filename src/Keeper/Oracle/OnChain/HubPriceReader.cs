using CrossMargin.Contracts;
using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Contracts;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Ethereum.Rpc;

namespace CrossMargin.Keeper.Oracle.OnChain;

/// <summary>The hub's price of one asset at a block: the WAD price, or why there is none.</summary>
/// <param name="Asset">Asset symbol (as the aggregator names it, e.g. "ETH").</param>
/// <param name="OracleId">The hub's asset id.</param>
/// <param name="PriceWad">The price, null when the hub reverted.</param>
/// <param name="Error">The decoded revert (e.g. <c>OracleUnavailable</c>, <c>OracleDivergence</c>) when there is no price.</param>
public sealed record HubPrice(string Asset, Hash32 OracleId, UInt256? PriceWad, string? Error);

/// <summary>Hub prices of several assets, all read at <see cref="BlockNumber"/>.</summary>
public sealed record HubPriceSnapshot(ulong BlockNumber, IReadOnlyDictionary<string, HubPrice> Prices)
{
    /// <summary>The hub price of <paramref name="asset"/>, or null when the asset was not read.</summary>
    public HubPrice? For(string asset) => Prices.TryGetValue(asset, out HubPrice? p) ? p : null;
}

/// <summary>
/// Reads <c>OracleHub.getPrices</c> for a fixed set of assets, pinned to one block. <c>getPrices</c> is atomic (one
/// unavailable asset reverts all), so on a revert the assets are read one by one (<c>getPrice</c>, batched) to tell
/// which ones have no price and why.
/// </summary>
public sealed class HubPriceReader
{
    private readonly IEthClient _eth;
    private readonly OracleHub _hub;
    private readonly (string Asset, Hash32 Id)[] _assets;

    /// <param name="eth">The RPC client.</param>
    /// <param name="hub">The OracleHub.</param>
    /// <param name="assetIds">Asset symbol to hub asset id (e.g. "ETH" to keccak256("ETH/USD")).</param>
    public HubPriceReader(IEthClient eth, Address hub, IReadOnlyDictionary<string, Hash32> assetIds)
    {
        ArgumentNullException.ThrowIfNull(eth);
        ArgumentNullException.ThrowIfNull(assetIds);
        _eth = eth;
        _hub = new OracleHub(hub);
        _assets = [.. assetIds.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => (kv.Key, kv.Value))];
    }

    /// <summary>Assets read, in order.</summary>
    public IReadOnlyList<string> Assets => [.. _assets.Select(a => a.Asset)];

    /// <summary>Reads all assets at <paramref name="blockNumber"/> (default: the current head, read first).</summary>
    public async Task<HubPriceSnapshot> ReadAsync(ulong? blockNumber = null, CancellationToken cancellationToken = default)
    {
        ulong block = blockNumber ?? await _eth.BlockNumberAsync(cancellationToken).ConfigureAwait(false);
        BlockTag tag = BlockTag.Number(block);
        var prices = new Dictionary<string, HubPrice>(StringComparer.Ordinal);
        if (_assets.Length == 0) return new HubPriceSnapshot(block, prices);
        try
        {
            UInt256[] all = await _eth.CallAsync(_hub.GetPrices([.. _assets.Select(a => a.Id)]), tag, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (all.Length != _assets.Length)
                throw new InvalidOperationException($"getPrices returned {all.Length} prices for {_assets.Length} assets.");
            for (int i = 0; i < _assets.Length; i++) prices[_assets[i].Asset] = new HubPrice(_assets[i].Asset, _assets[i].Id, all[i], null);
            return new HubPriceSnapshot(block, prices);
        }
        catch (RpcException ex) when (ex.IsExecutionReverted || ex.RevertData is not null)
        {
            // one asset (at least) has no price: find out which, one by one at the same block
        }

        ContractCall<UInt256>[] calls = [.. _assets.Select(a => _hub.GetPrice(a.Id))];
        Task<UInt256>[] tasks;
        if (_eth is EthClient { Rpc: JsonRpcClient json } && calls.Length > 1)
        {
            RpcBatch batch = json.CreateBatch();
            tasks = [.. calls.Select(c => batch.Add(c, tag))];
            await batch.SendAsync(cancellationToken).ConfigureAwait(false);
        }
        else
        {
            tasks = [.. calls.Select(c => _eth.CallAsync(c, tag, cancellationToken: cancellationToken))];
        }
        for (int i = 0; i < _assets.Length; i++)
        {
            (string asset, Hash32 id) = _assets[i];
            try
            {
                prices[asset] = new HubPrice(asset, id, await tasks[i].ConfigureAwait(false), null);
            }
            catch (RpcException ex) when (ex.IsExecutionReverted || ex.RevertData is not null)
            {
                prices[asset] = new HubPrice(asset, id, null, DescribeRevert(ex.RevertData));
            }
        }
        return new HubPriceSnapshot(block, prices);
    }

    internal static string DescribeRevert(byte[]? data)
    {
        if (data is null) return "reverted without data";
        return OracleHub.TryDecodeError(data, out ContractError? e) ? e.ToString() : "reverted: " + Hex.Encode(data);
    }
}
