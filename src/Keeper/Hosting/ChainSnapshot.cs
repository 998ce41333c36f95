using CrossMargin.Devnet;
using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Crypto;
using CrossMargin.Ethereum.Rpc;
using CrossMargin.Keeper.Configuration;
using CrossMargin.Keeper.Detection;
using CrossMargin.Keeper.Indexing;
using CrossMargin.Risk;

namespace CrossMargin.Keeper.Hosting;

/// <summary>Where to read the protocol from (for the one-shot commands).</summary>
public sealed record ChainTarget(Uri RpcUrl, Address Engine, Address OracleHub, ulong DeploymentBlock)
{
    /// <summary>From a devnet deployment file, or from explicit values (explicit ones win). Throws <see cref="KeeperConfigurationException"/>.</summary>
    public static ChainTarget Resolve(string? deploymentPath, string? rpc, string? engine, string? hub, ulong? fromBlock)
    {
        var o = new KeeperOptions
        {
            Deployment = deploymentPath,
            RpcUrls = rpc is null ? [] : [rpc],
            Engine = engine,
            OracleHub = hub,
            DeploymentBlock = fromBlock?.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ChainId = deploymentPath is null ? "1" : null, // not checked by the one-shot commands
            JournalPath = Path.Combine(Path.GetTempPath(), "crossmargin-scan.db"),
        };
        KeeperSettings s = KeeperOptionsValidator.Validate(o);
        return new ChainTarget(s.RpcUrls[0], s.Engine, s.OracleHub, s.DeploymentBlock);
    }
}

/// <summary>
/// The protocol at one block, in a <see cref="RiskBook"/>: accounts from a cold log sync up to the block, prices from
/// the hub and funding from storage at that block, health at the block's own timestamp.
/// </summary>
public sealed class ChainSnapshot
{
    private ChainSnapshot(LiquidationDetector detector, ulong block, ulong timestamp)
    {
        Detector = detector;
        Block = block;
        Timestamp = timestamp;
    }

    public LiquidationDetector Detector { get; }

    public RiskBook Risk => Detector.Risk!;

    public ProtocolConfig Config => Detector.Config!;

    public ulong Block { get; }

    public ulong Timestamp { get; }

    public static async Task<ChainSnapshot> LoadAsync(IEthClient eth, ChainTarget target, ulong? block, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(eth);
        ArgumentNullException.ThrowIfNull(target);
        ulong at = block ?? await eth.BlockNumberAsync(cancellationToken).ConfigureAwait(false);
        var header = await eth.GetBlockByNumberAsync(BlockTag.Number(at), cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"block {at} not found");
        var indexer = new ChainIndexer(eth, new IndexerOptions { Engine = target.Engine, DeploymentBlock = target.DeploymentBlock });
        await indexer.SyncAsync(at, cancellationToken).ConfigureAwait(false);
        var detector = new LiquidationDetector(new EngineMarketReader(eth, target.Engine, target.OracleHub), indexer.Book);
        var r = await detector.ProcessAsync(new BlockProcessed(at, header.Hash, header.Timestamp, [], false, null), cancellationToken).ConfigureAwait(false);
        // exactly at the block's timestamp (detection accrues to the next block)
        detector.Risk!.SetMarketState(r.Context.Prices, r.Context.Funding, header.Timestamp);
        return new ChainSnapshot(detector, at, header.Timestamp);
    }

    /// <summary>The price slot of an oracle given as a symbol ("ETH", "ETH/USD") or a 0x id; null when unknown.</summary>
    public int? SlotOf(string oracle)
    {
        ArgumentNullException.ThrowIfNull(oracle);
        var ids = new List<Hash32>();
        if (Hash32.TryParse(oracle, out Hash32 id)) ids.Add(id);
        else
        {
            ids.Add(Keccak256.ComputeUtf8(oracle));
            ids.Add(Keccak256.ComputeUtf8(oracle.ToUpperInvariant() + "/USD"));
        }
        for (int s = 0; s < Config.SlotOracles.Length; s++) if (ids.Contains(Config.SlotOracles[s])) return s;
        return null;
    }
}
