using CrossMargin.Contracts;
using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Contracts;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Ethereum.Rpc;
using CrossMargin.Devnet.Tests.Protocol;
using CrossMargin.Risk;

namespace CrossMargin.Devnet.Tests.Risk;

/// <summary>Reads the engine's configuration and raw account storage at a block and turns it into the mirror's model.</summary>
internal sealed class ChainMirror
{
    private readonly ProtocolDevnet _devnet;

    private ChainMirror(ProtocolDevnet devnet, RiskConfig config, Hash32[] slotOracles)
    {
        _devnet = devnet;
        Config = config;
        SlotOracles = slotOracles;
    }

    public RiskConfig Config { get; }

    /// <summary>Oracle id of each price slot.</summary>
    public Hash32[] SlotOracles { get; }

    public static async Task<ChainMirror> LoadAsync(ProtocolDevnet devnet)
    {
        var engine = devnet.Engine;
        int na = (int)(ulong)await devnet.Eth.CallAsync(engine.AssetCount());
        int nm = (int)(ulong)await devnet.Eth.CallAsync(engine.MarketCount());
        var assets = new List<AssetParams>();
        var slots = new Dictionary<int, Hash32>();
        for (int i = 0; i < na; i++)
        {
            var a = await devnet.Eth.CallAsync(engine.GetAsset((ulong)i));
            assets.Add(new AssetParams(a.Decimals, a.PriceSlot, a.InitialWeight, a.MaintenanceWeight, a.LiquidationDiscount, a.DepositCap));
            if (i > 0) slots[a.PriceSlot] = a.OracleId;
        }
        var markets = new List<MarketParams>();
        for (int m = 0; m < nm; m++)
        {
            var k = await devnet.Eth.CallAsync(engine.GetMarket((ulong)m));
            markets.Add(new MarketParams(k.PriceSlot, k.InitialMarginFraction, k.MaintenanceMarginFraction, k.TakerFee, k.LiquidationPenalty,
                k.KeeperShare, k.MaxLiquidationFraction, k.LiquidationBuffer, (UInt128)k.MinPositionMargin));
            slots[k.PriceSlot] = k.OracleId;
        }
        int slotCount = slots.Keys.Max() + 1;
        var oracles = new Hash32[slotCount];
        foreach ((int s, Hash32 id) in slots) oracles[s] = id;
        return new ChainMirror(devnet, new RiskConfig(assets, markets, slotCount), oracles);
    }

    /// <summary>Everything the mirror needs at one block.</summary>
    public sealed record Snapshot(ulong Block, ulong Timestamp, UInt256[] Prices, FundingState[] Funding, AccountState[] Accounts,
        CrossMarginEngine.HealthData[] ChainHealth, Int256 VaultCash, UInt256 Insurance);

    public async Task<Snapshot> ReadAsync(IReadOnlyList<Address> accounts, ulong block, bool withHealth = true)
    {
        var tag = BlockTag.Number(block);
        var header = await _devnet.Eth.GetBlockByNumberAsync(tag) ?? throw new InvalidOperationException("no block");
        var prices = new UInt256[SlotOracles.Length];
        for (int s = 0; s < prices.Length; s++) prices[s] = await _devnet.Eth.CallAsync(_devnet.Hub.GetPrice(SlotOracles[s]), tag);
        var funding = new FundingState[Config.MarketCount];
        for (int m = 0; m < funding.Length; m++)
        {
            var k = await _devnet.Eth.CallAsync(_devnet.Engine.GetMarket((ulong)m), tag);
            funding[m] = new FundingState(k.FundingIndex, k.FundingRatePerSecond, k.LastFundingTime);
        }
        var states = new AccountState[accounts.Count];
        const int Chunk = 200;
        for (int from = 0; from < accounts.Count; from += Chunk)
        {
            RpcBatch batch = _devnet.Rpc.CreateBatch();
            var tasks = new List<Task<CrossMarginEngine.AccountStateData>>();
            for (int i = from; i < Math.Min(accounts.Count, from + Chunk); i++) tasks.Add(batch.Add(_devnet.Engine.AccountState(accounts[i]), tag));
            await batch.SendAsync();
            for (int j = 0; j < tasks.Count; j++) states[from + j] = ToModel(await tasks[j]);
        }
        var health = new List<CrossMarginEngine.HealthData>();
        if (withHealth)
        {
            for (int from = 0; from < accounts.Count; from += 250)
            {
                Address[] part = accounts.Skip(from).Take(250).ToArray();
                health.AddRange(await _devnet.Eth.CallAsync(_devnet.Engine.HealthBatch(part), tag));
            }
        }
        Int256 vault = await _devnet.Eth.CallAsync(_devnet.Engine.VaultCash(), tag);
        UInt256 insurance = await _devnet.Eth.CallAsync(_devnet.Engine.InsuranceFund(), tag);
        return new Snapshot(block, header.Timestamp, prices, funding, states, [.. health], vault, insurance);
    }

    public AccountState ToModel(CrossMarginEngine.AccountStateData d)
    {
        var s = new AccountState(Config) { Cash = d.Cash };
        for (int i = 1; i < d.Collateral.Length && i < Config.AssetCount; i++) s.Collateral[i] = d.Collateral[i];
        foreach (var p in d.Positions) s.Positions[(int)(ulong)p.MarketId] = new Position(p.Size, p.OpenNotional, p.FundingSnapshot);
        return s;
    }
}
