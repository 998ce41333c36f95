using CrossMargin.Contracts;
using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Contracts;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Ethereum.Rpc;

namespace CrossMargin.Keeper.Oracle.OnChain;

/// <summary>The on-chain Pyth price of an asset.</summary>
/// <param name="PriceWad">Price as WAD (zero when the on-chain price is not positive).</param>
/// <param name="PublishTime">Unix seconds.</param>
public readonly record struct PythOnChainPrice(UInt256 PriceWad, ulong PublishTime);

/// <summary>What the pusher reads from the chain each round, all at <see cref="BlockNumber"/>.</summary>
/// <param name="BlockNumber">Block read.</param>
/// <param name="BlockTimestamp">Its timestamp (unix seconds).</param>
/// <param name="Feeds">Latest round per asset (null: none yet).</param>
/// <param name="Pyth">On-chain Pyth price per asset with a Pyth id (null: none yet).</param>
public sealed record OnChainOracleState(ulong BlockNumber, ulong BlockTimestamp,
    IReadOnlyDictionary<string, FeedRound?> Feeds, IReadOnlyDictionary<string, PythOnChainPrice?> Pyth);

/// <summary>Outcome of an eth_call simulation.</summary>
/// <param name="Reverted">The call reverted.</param>
/// <param name="RevertData">Revert data when known.</param>
public readonly record struct Simulation(bool Reverted, byte[]? RevertData);

/// <summary>Sends a transaction and waits for its receipt (nonce, fees and persistence are the implementation's).</summary>
public interface IOracleTxSender
{
    /// <summary>The sending account.</summary>
    Address Sender { get; }

    /// <summary>Sends and waits; a mined revert throws <see cref="TransactionRevertedException"/>.</summary>
    Task<TransactionReceipt> SendAndWaitAsync(ContractTx tx, CancellationToken cancellationToken);
}

/// <summary><see cref="IOracleTxSender"/> over a <see cref="TransactionSender"/> (local nonce, EIP-1559 fees, estimated gas).</summary>
public sealed class TransactionSenderOracleTxSender(TransactionSender sender) : IOracleTxSender
{
    private readonly TransactionSender _sender = sender ?? throw new ArgumentNullException(nameof(sender));

    /// <inheritdoc />
    public Address Sender => _sender.Address;

    /// <inheritdoc />
    public Task<TransactionReceipt> SendAndWaitAsync(ContractTx tx, CancellationToken cancellationToken) =>
        _sender.SendAndWaitAsync(tx, null, cancellationToken);
}

/// <summary>The chain as the pusher sees it: batched reads, fee quote, simulation and sending.</summary>
public interface IOracleChain
{
    /// <summary>The OracleHub (target of feed pushes).</summary>
    Address Hub { get; }

    /// <summary>The Pyth contract, if any.</summary>
    Address? Pyth { get; }

    /// <summary>Reads the latest feed rounds and Pyth prices at one block.</summary>
    Task<OnChainOracleState> ReadAsync(IReadOnlyList<(string Asset, Address Feed, Hash32? PythId)> assets, CancellationToken cancellationToken);

    /// <summary><c>getUpdateFee(updateData)</c> of the Pyth contract.</summary>
    Task<UInt256> PythUpdateFeeAsync(byte[][] updateData, CancellationToken cancellationToken);

    /// <summary>eth_call of the transaction from the sender against the latest state.</summary>
    Task<Simulation> SimulateAsync(ContractTx tx, CancellationToken cancellationToken);

    /// <summary>Sends the transaction and waits for its receipt.</summary>
    Task<TransactionReceipt> SendAsync(ContractTx tx, CancellationToken cancellationToken);
}

/// <summary><see cref="IOracleChain"/> over JSON-RPC (reads batched when the transport allows it).</summary>
public sealed class RpcOracleChain : IOracleChain
{
    private readonly IEthClient _eth;
    private readonly IOracleTxSender _sender;
    private readonly RpcAggregatorV3Reader _feeds;

    public RpcOracleChain(IEthClient eth, IOracleTxSender sender, Address hub, Address? pyth)
    {
        ArgumentNullException.ThrowIfNull(eth);
        ArgumentNullException.ThrowIfNull(sender);
        _eth = eth;
        _sender = sender;
        _feeds = new RpcAggregatorV3Reader(eth);
        Hub = hub;
        Pyth = pyth;
    }

    /// <inheritdoc />
    public Address Hub { get; }

    /// <inheritdoc />
    public Address? Pyth { get; }

    /// <inheritdoc />
    public async Task<OnChainOracleState> ReadAsync(IReadOnlyList<(string Asset, Address Feed, Hash32? PythId)> assets, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(assets);
        BlockHeader head = await _eth.GetBlockByNumberAsync(BlockTag.Latest, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException("The node returned no latest block.");
        BlockTag at = BlockTag.Number(head.Number);
        FeedRound?[] rounds = await _feeds.LatestRoundsAsync([.. assets.Select(a => a.Feed)], at, cancellationToken).ConfigureAwait(false);
        var feeds = new Dictionary<string, FeedRound?>(StringComparer.Ordinal);
        for (int i = 0; i < assets.Count; i++) feeds[assets[i].Asset] = rounds[i];

        var pyth = new Dictionary<string, PythOnChainPrice?>(StringComparer.Ordinal);
        if (Pyth is { } pythAddress)
        {
            var withPyth = assets.Where(a => a.PythId is not null).ToArray();
            var contract = new MockPyth(pythAddress);
            PythOnChainPrice?[] prices = await BatchCalls.RunAsync(_eth, [.. withPyth.Select(a => contract.GetPriceUnsafe(a.PythId!.Value))], at,
                p => (PythOnChainPrice?)ToOnChain(p), cancellationToken).ConfigureAwait(false);
            for (int i = 0; i < withPyth.Length; i++) pyth[withPyth[i].Asset] = prices[i];
        }
        return new OnChainOracleState(head.Number, head.Timestamp, feeds, pyth);
    }

    internal static PythOnChainPrice ToOnChain(MockPyth.Price p)
    {
        ulong publish = p.PublishTime > (UInt256)ulong.MaxValue ? ulong.MaxValue : (ulong)p.PublishTime;
        UInt256 wad = UInt256.Zero;
        if (p.PriceValue > 0 && p.Expo is >= -58 and <= 58)
        {
            try { wad = WadDecimal.FromScaled((ulong)p.PriceValue, p.Expo); }
            catch (OverflowException) { wad = UInt256.Zero; }
        }
        return new PythOnChainPrice(wad, publish);
    }

    /// <inheritdoc />
    public async Task<UInt256> PythUpdateFeeAsync(byte[][] updateData, CancellationToken cancellationToken)
    {
        Address pyth = Pyth ?? throw new InvalidOperationException("No Pyth contract configured.");
        return await _eth.CallAsync(new MockPyth(pyth).GetUpdateFee(updateData), BlockTag.Latest, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<Simulation> SimulateAsync(ContractTx tx, CancellationToken cancellationToken)
    {
        try
        {
            await _eth.CallAsync(tx.ToCallRequest(_sender.Sender), BlockTag.Latest, cancellationToken).ConfigureAwait(false);
            return new Simulation(false, null);
        }
        catch (RpcException ex) when (ex.IsExecutionReverted || ex.RevertData is not null)
        {
            return new Simulation(true, ex.RevertData);
        }
    }

    /// <inheritdoc />
    public Task<TransactionReceipt> SendAsync(ContractTx tx, CancellationToken cancellationToken) => _sender.SendAndWaitAsync(tx, cancellationToken);
}
