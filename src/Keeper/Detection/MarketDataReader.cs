using CrossMargin.Contracts;
using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Contracts;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Ethereum.Rpc;
using CrossMargin.Risk;

namespace CrossMargin.Keeper.Detection;

/// <summary>The engine's static configuration in the risk model, with the oracle id of every price slot.</summary>
/// <param name="AssetTokens">ERC-20 token of every asset (index 0: the settlement token), when known.</param>
public sealed record ProtocolConfig(RiskConfig Risk, Hash32[] SlotOracles, IReadOnlyList<Address>? AssetTokens = null);

/// <summary>Chain reads the detector needs, each pinned to a block.</summary>
public interface IMarketDataReader
{
    /// <summary>
    /// Assets, markets and their price slots (read once at start) at <paramref name="block"/>, or at the latest block
    /// when null (assets and markets are only ever added, so the latest configuration covers every indexed account).
    /// </summary>
    Task<ProtocolConfig> LoadConfigAsync(ulong? block, CancellationToken cancellationToken = default);

    /// <summary>Stored funding state of every market.</summary>
    Task<FundingState[]> ReadFundingAsync(int marketCount, ulong block, CancellationToken cancellationToken = default);

    /// <summary>WAD prices of <paramref name="oracleIds"/> as the hub reports them at the block (0 = unavailable).</summary>
    Task<UInt256[]> ReadPricesAsync(Hash32[] oracleIds, ulong block, CancellationToken cancellationToken = default);

    /// <summary>
    /// <see cref="ReadPricesAsync"/> queued in a batch with the block's other reads; the task completes after the batch
    /// is sent. Null when this reader cannot batch (the detector then reads on its own).
    /// </summary>
    Task<UInt256[]>? QueuePrices(IRpcBatch batch, Hash32[] oracleIds, ulong block) => null;

    /// <summary><see cref="ReadFundingAsync"/> queued in a batch; null when this reader cannot batch.</summary>
    Task<FundingState[]>? QueueFunding(IRpcBatch batch, int marketCount, ulong block) => null;
}

/// <summary>
/// <see cref="IMarketDataReader"/> over the engine and the oracle hub. Prices are one <c>getPrices</c> eth_call for all
/// ids; when it reverts (one stale or missing oracle reverts the whole call) each id is read on its own and the
/// failing ones are reported as 0 (unavailable), as the engine would revert on them.
/// </summary>
public sealed class EngineMarketReader(IEthClient eth, Address engine, Address hub) : IMarketDataReader
{
    private readonly CrossMarginEngine _engine = new(engine);
    private readonly OracleHub _hub = new(hub);

    public async Task<ProtocolConfig> LoadConfigAsync(ulong? block, CancellationToken cancellationToken = default)
    {
        var tag = block is { } b ? BlockTag.Number(b) : BlockTag.Latest;
        int na = checked((int)(ulong)await eth.CallAsync(_engine.AssetCount(), tag, cancellationToken: cancellationToken).ConfigureAwait(false));
        int nm = checked((int)(ulong)await eth.CallAsync(_engine.MarketCount(), tag, cancellationToken: cancellationToken).ConfigureAwait(false));
        var assets = new List<AssetParams>(na);
        var slots = new Dictionary<int, Hash32>();
        var tokens = new Address[na];
        for (int i = 0; i < na; i++)
        {
            var a = await eth.CallAsync(_engine.GetAsset((ulong)i), tag, cancellationToken: cancellationToken).ConfigureAwait(false);
            tokens[i] = a.Token;
            assets.Add(new AssetParams(a.Decimals, a.PriceSlot, a.InitialWeight, a.MaintenanceWeight, a.LiquidationDiscount, a.DepositCap));
            if (i > 0) slots[a.PriceSlot] = a.OracleId;
        }
        var markets = new List<MarketParams>(nm);
        for (int m = 0; m < nm; m++)
        {
            var k = await eth.CallAsync(_engine.GetMarket((ulong)m), tag, cancellationToken: cancellationToken).ConfigureAwait(false);
            markets.Add(new MarketParams(k.PriceSlot, k.InitialMarginFraction, k.MaintenanceMarginFraction, k.TakerFee, k.LiquidationPenalty,
                k.KeeperShare, k.MaxLiquidationFraction, k.LiquidationBuffer, (UInt128)k.MinPositionMargin));
            slots[k.PriceSlot] = k.OracleId;
        }
        int slotCount = slots.Count == 0 ? 0 : slots.Keys.Max() + 1;
        var oracles = new Hash32[slotCount];
        foreach ((int s, Hash32 id) in slots) oracles[s] = id;
        return new ProtocolConfig(new RiskConfig(assets, markets, slotCount), oracles, tokens);
    }

    /// <summary>One getMarket per market: in one batch (one round trip) when the transport batches.</summary>
    public async Task<FundingState[]> ReadFundingAsync(int marketCount, ulong block, CancellationToken cancellationToken = default)
    {
        if (eth.Rpc is { } rpc && marketCount > 0)
        {
            var batch = rpc.StartBatch();
            Task<FundingState[]> queued = QueueFunding(batch, marketCount, block);
            try
            {
                await batch.SendAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (RpcClientException)
            {
                // every call carries the error: awaiting the result throws it
            }
            return await queued.ConfigureAwait(false);
        }
        var tag = BlockTag.Number(block);
        var funding = new FundingState[marketCount];
        for (int m = 0; m < marketCount; m++)
        {
            var k = await eth.CallAsync(_engine.GetMarket((ulong)m), tag, cancellationToken: cancellationToken).ConfigureAwait(false);
            funding[m] = new FundingState(k.FundingIndex, k.FundingRatePerSecond, k.LastFundingTime);
        }
        return funding;
    }

    public Task<FundingState[]> QueueFunding(IRpcBatch batch, int marketCount, ulong block)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var tag = BlockTag.Number(block);
        var calls = new (ContractCall<CrossMarginEngine.Market> Call, Task<byte[]> Raw)[marketCount];
        for (int m = 0; m < marketCount; m++)
        {
            var call = _engine.GetMarket((ulong)m);
            calls[m] = (call, batch.Add(EthRequests.Call(call.ToCallRequest(), tag)));
        }
        return DecodeFundingAsync(calls);
    }

    private static async Task<FundingState[]> DecodeFundingAsync((ContractCall<CrossMarginEngine.Market> Call, Task<byte[]> Raw)[] calls)
    {
        var funding = new FundingState[calls.Length];
        for (int m = 0; m < calls.Length; m++)
        {
            var k = calls[m].Call.Decode(await calls[m].Raw.ConfigureAwait(false));
            funding[m] = new FundingState(k.FundingIndex, k.FundingRatePerSecond, k.LastFundingTime);
        }
        return funding;
    }

    public Task<UInt256[]>? QueuePrices(IRpcBatch batch, Hash32[] oracleIds, ulong block)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(oracleIds);
        var call = _hub.GetPrices(oracleIds);
        Task<byte[]> raw = batch.Add(EthRequests.Call(call.ToCallRequest(), BlockTag.Number(block)));
        return DecodeAsync(raw, call, oracleIds, block);
    }

    private async Task<UInt256[]> DecodeAsync(Task<byte[]> raw, ContractCall<UInt256[]> call, Hash32[] oracleIds, ulong block)
    {
        try
        {
            UInt256[] prices = call.Decode(await raw.ConfigureAwait(false));
            if (prices.Length != oracleIds.Length) throw new InvalidOperationException($"getPrices returned {prices.Length} prices for {oracleIds.Length} ids");
            return prices;
        }
        catch (RpcException e) when (e.IsExecutionReverted)
        {
            return await ReadOneByOneAsync(oracleIds, BlockTag.Number(block), CancellationToken.None).ConfigureAwait(false);
        }
    }

    public async Task<UInt256[]> ReadPricesAsync(Hash32[] oracleIds, ulong block, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(oracleIds);
        var tag = BlockTag.Number(block);
        try
        {
            UInt256[] prices = await eth.CallAsync(_hub.GetPrices(oracleIds), tag, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (prices.Length != oracleIds.Length) throw new InvalidOperationException($"getPrices returned {prices.Length} prices for {oracleIds.Length} ids");
            return prices;
        }
        catch (RpcException e) when (e.IsExecutionReverted)
        {
            return await ReadOneByOneAsync(oracleIds, tag, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>One getPrice per id: a reverting (stale, missing) oracle reads as 0.</summary>
    private async Task<UInt256[]> ReadOneByOneAsync(Hash32[] oracleIds, BlockTag tag, CancellationToken cancellationToken)
    {
        {
            var prices = new UInt256[oracleIds.Length];
            for (int i = 0; i < oracleIds.Length; i++)
            {
                try
                {
                    prices[i] = await eth.CallAsync(_hub.GetPrice(oracleIds[i]), tag, cancellationToken: cancellationToken).ConfigureAwait(false);
                }
                catch (RpcException inner) when (inner.IsExecutionReverted)
                {
                    prices[i] = UInt256.Zero;
                }
            }
            return prices;
        }
    }
}
