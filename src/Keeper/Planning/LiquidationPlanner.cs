using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Keeper.Detection;
using CrossMargin.Risk;

namespace CrossMargin.Keeper.Planning;

/// <summary>
/// Turns a block's liquidatable set into batchLiquidate calls. Accounts are taken by decreasing shortfall; each is
/// sized with the engine mirror (<see cref="LiquidationSimulator"/>): its positions by decreasing notional, each
/// request seeing the effects of the previous ones, until the account is no longer liquidatable. An account is
/// planned when its keeper reward minus the gas of its requests clears <see cref="PlannerOptions.MinProfit"/>;
/// accounts are packed into batches whose gas limit stays within the budget, and a batch must clear the minimum
/// after its fixed gas too. Accounts with a liquidation in flight are never planned. Integer (WAD) math only.
/// </summary>
public sealed class LiquidationPlanner
{
    private readonly PlannerOptions _options;
    private readonly ILiquidationPriceGate _gate;

    public LiquidationPlanner(PlannerOptions options, Address liquidator, ILiquidationPriceGate? gate = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        options.Validate(failures);
        if (failures.Count > 0) throw new ArgumentException(string.Join(" ", failures), nameof(options));
        _options = options;
        Liquidator = liquidator;
        _gate = gate ?? AlwaysAllowPriceGate.Instance;
    }

    /// <summary>The keeper's address (msg.sender of the batches).</summary>
    public Address Liquidator { get; }

    public PlannerOptions Options => _options;

    /// <summary>The price gate every liquidation passes.</summary>
    public ILiquidationPriceGate Gate => _gate;

    /// <summary>
    /// Plans one block. <paramref name="states"/> gives the risk model's account states (copies are taken);
    /// <paramref name="slotOracles"/> maps price slots to oracle ids for the price gate.
    /// </summary>
    /// <param name="blockGasBudget">Gas this block may still take (default <see cref="PlannerOptions.BlockGasBudget"/>; less when our
    /// earlier transactions are still waiting for block space).</param>
    public LiquidationPlan Plan(DetectionResult detection, Func<Address, AccountState?> states, GasQuote gas, InFlightTracker? inFlight = null,
        IReadOnlyList<Hash32>? slotOracles = null, Int256 vaultCash = default, UInt256 insuranceFund = default, ulong? blockGasBudget = null)
    {
        ArgumentNullException.ThrowIfNull(detection);
        ArgumentNullException.ThrowIfNull(states);
        var skipped = new List<PlanSkip>();
        var planned = new List<PlannedLiquidation>();
        RiskContext ctx = detection.Context;
        ulong budget = blockGasBudget ?? _options.BlockGasBudget;
        ulong plannedRequests = 0; // of the sized accounts that fit a batch on their own
        foreach (LiquidationCandidate c in detection.Liquidatable)
        {
            // The candidates come largest shortfall first and are packed in that order: once the requests sized so far
            // fill the block's budget even without the batches' fixed gas, no later account can be packed, so it is not
            // sized (a crash at scale leaves tens of thousands of candidates for a block that takes a few hundred).
            if (plannedRequests * _options.GasPerRequest > budget)
            {
                skipped.Add(new PlanSkip(c.Account, PlanSkipReason.OverBatchLimit, NotSized));
                continue;
            }
            if (inFlight is not null && inFlight.Contains(c.Account))
            {
                skipped.Add(new PlanSkip(c.Account, PlanSkipReason.InFlight));
                continue;
            }
            if (c.Account == Liquidator)
            {
                skipped.Add(new PlanSkip(c.Account, PlanSkipReason.SelfLiquidation));
                continue;
            }
            if (gas.NativePrice.IsZero)
            {
                skipped.Add(new PlanSkip(c.Account, PlanSkipReason.NoGasPrice));
                continue;
            }
            var (plan, skip) = SizeAccount(ctx, c, states, gas, slotOracles, detection.Block, vaultCash, insuranceFund);
            if (plan is not null)
            {
                planned.Add(plan);
                if (_options.GasLimitFor(plan.Steps.Count) <= _options.BatchGasBudget) plannedRequests += (ulong)plan.Steps.Count;
            }
            else
            {
                skipped.Add(skip!);
            }
        }
        return new LiquidationPlan(detection.Block, Pack(planned, gas, skipped, budget), skipped);
    }

    /// <summary>Detail of the <see cref="PlanSkipReason.OverBatchLimit"/> skip of a candidate left unsized because the block's budget was already spoken for.</summary>
    public const string NotSized = "block gas budget used (not sized)";

    private (PlannedLiquidation?, PlanSkip?) SizeAccount(RiskContext ctx, LiquidationCandidate c, Func<Address, AccountState?> states, GasQuote gas,
        IReadOnlyList<Hash32>? slotOracles, ulong block, Int256 vaultCash, UInt256 insurance)
    {
        AccountState? state = states(c.Account);
        if (state is null) return (null, new PlanSkip(c.Account, PlanSkipReason.NothingToLiquidate, "unknown account"));
        RiskConfig cfg = ctx.Config;
        // the account's health rests on all of its prices: one the gate disputes stops the whole account
        if (slotOracles is not null && AccountPriceGating.FirstBlockedSlot(ctx, state, slotOracles, _gate, block) is { } blocked)
            return (null, new PlanSkip(c.Account, PlanSkipReason.PriceGated, $"price of oracle {slotOracles[blocked]} disputed"));
        // positions by decreasing notional (|size|·price), then market id
        var order = new List<(int Market, UInt256 Notional)>();
        try
        {
            for (int m = 0; m < state.Positions.Length; m++)
            {
                if (!state.Positions[m].IsOpen) continue;
                UInt256 price = ctx.Price(cfg.Markets[m].PriceSlot);
                order.Add((m, RiskMath.NotionalUp(RiskMath.Abs(state.Positions[m].Size), price)));
            }
        }
        catch (PriceUnavailableException e)
        {
            return (null, new PlanSkip(c.Account, PlanSkipReason.WouldRevert, e.Message));
        }
        order.Sort(static (a, b) =>
        {
            int x = b.Notional.CompareTo(a.Notional);
            return x != 0 ? x : a.Market.CompareTo(b.Market);
        });

        var sim = new LiquidationSimulator(ctx, Liquidator, a => a == c.Account ? state : null, vaultCash, insurance);
        var steps = new List<LiquidationOutcome>();
        UInt256 reward = UInt256.Zero;
        try
        {
            foreach ((int m, _) in order)
            {
                if (steps.Count >= _options.MaxRequestsPerAccount) break;
                LiquidationOutcome o = sim.Liquidate(c.Account, m, UInt256.Zero);
                if (o.Skip == SkipReason.NotLiquidatable) break;
                if (!o.Executed) continue;
                steps.Add(o);
                reward = checked(reward + o.KeeperReward);
                // the next request would first recompute this same health and skip as NotLiquidatable
                if (!o.HealthAfter.IsLiquidatable) break;
            }
        }
        catch (Exception e) when (e is ArithmeticException or PriceUnavailableException)
        {
            return (null, new PlanSkip(c.Account, PlanSkipReason.WouldRevert, e.Message));
        }
        if (steps.Count == 0)
        {
            return (null, new PlanSkip(c.Account, PlanSkipReason.NothingToLiquidate));
        }
        UInt256 cost = gas.CostUsd(_options.GasPerRequest * (ulong)steps.Count);
        var plan = new PlannedLiquidation(c.Account, c.Shortfall, steps, reward, cost);
        if (!plan.Profitable || plan.Profit < _options.MinProfit)
        {
            return (null, new PlanSkip(c.Account, PlanSkipReason.Unprofitable, $"reward {reward} gas {cost} (WAD USD)"));
        }
        return (plan, null);
    }

    private List<LiquidationBatch> Pack(List<PlannedLiquidation> planned, GasQuote gas, List<PlanSkip> skipped, ulong blockBudget)
    {
        var batches = new List<LiquidationBatch>();
        var current = new List<PlannedLiquidation>();
        int requests = 0;
        foreach (PlannedLiquidation p in planned)
        {
            if (batches.Count >= _options.MaxBatchesPerBlock)
            {
                skipped.Add(new PlanSkip(p.Account, PlanSkipReason.OverBatchLimit));
                continue;
            }
            int n = p.Steps.Count;
            if (_options.GasLimitFor(n) > _options.BatchGasBudget)
            {
                skipped.Add(new PlanSkip(p.Account, PlanSkipReason.OverBatchLimit, "one account exceeds the batch gas budget"));
                continue;
            }
            ulong committed = batches.Aggregate(0UL, (g, b) => g + b.EstimatedGas);
            if (committed + _options.BatchBaseGas + _options.GasPerRequest * (ulong)(requests + n) > blockBudget)
            {
                skipped.Add(new PlanSkip(p.Account, PlanSkipReason.OverBatchLimit, "block gas budget used"));
                continue;
            }
            if (current.Count > 0 && _options.GasLimitFor(requests + n) > _options.BatchGasBudget)
            {
                Close(current, requests, gas, batches, skipped);
                current = [];
                requests = 0;
                if (batches.Count >= _options.MaxBatchesPerBlock)
                {
                    skipped.Add(new PlanSkip(p.Account, PlanSkipReason.OverBatchLimit));
                    continue;
                }
            }
            current.Add(p);
            requests += n;
        }
        if (current.Count > 0) Close(current, requests, gas, batches, skipped);
        return batches;
    }

    private void Close(List<PlannedLiquidation> accounts, int requests, GasQuote gas, List<LiquidationBatch> batches, List<PlanSkip> skipped)
    {
        UInt256 reward = UInt256.Zero, cost = gas.CostUsd(_options.BatchBaseGas);
        var list = new List<LiquidationRequest>(requests);
        foreach (PlannedLiquidation p in accounts)
        {
            reward = checked(reward + p.Reward);
            cost = checked(cost + p.GasCost);
            foreach (LiquidationOutcome o in p.Steps) list.Add(new LiquidationRequest(o.Account, o.MarketId, _options.CapRequestSize ? o.SizeClosed : UInt256.Zero));
        }
        if (reward <= cost || reward - cost < _options.MinProfit)
        {
            foreach (PlannedLiquidation p in accounts) skipped.Add(new PlanSkip(p.Account, PlanSkipReason.Unprofitable, "batch does not cover its fixed gas"));
            return;
        }
        ulong estimated = _options.BatchBaseGas + _options.GasPerRequest * (ulong)requests;
        batches.Add(new LiquidationBatch(accounts, list, estimated, _options.GasLimitFor(requests), reward, cost, gas.ToWei(reward)));
    }
}
