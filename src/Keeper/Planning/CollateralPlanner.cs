using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Keeper.Detection;
using CrossMargin.Risk;

namespace CrossMargin.Keeper.Planning;

/// <summary>
/// One <c>liquidateCollateral(account, assetId, maxAmount)</c> call as the engine would execute it: the keeper pays
/// <see cref="Payment"/> settlement-token units and receives <see cref="Amount"/> token units of the collateral.
/// </summary>
/// <param name="Amount">Collateral token units the keeper receives.</param>
/// <param name="AmountWad">The same in WAD.</param>
/// <param name="Payment">Settlement-token units the keeper pays.</param>
/// <param name="PaymentWad">The same in WAD.</param>
/// <param name="Price">Oracle price of the collateral (WAD USD).</param>
/// <param name="Reward">Value received at the oracle price minus the payment (WAD USD).</param>
/// <param name="GasCost">Gas cost of the call (WAD USD).</param>
public sealed record CollateralSale(Address Account, int AssetId, UInt256 Amount, UInt256 AmountWad, UInt256 Payment, UInt256 PaymentWad,
    UInt256 Price, UInt256 Reward, UInt256 GasCost, ulong GasLimit)
{
    public UInt256 Profit => Reward > GasCost ? Reward - GasCost : UInt256.Zero;
}

/// <summary>Collateral sales planned for one block, and the insolvent accounts left alone (with the reason).</summary>
public sealed record CollateralPlan(ulong Block, IReadOnlyList<CollateralSale> Sales, IReadOnlyList<PlanSkip> Skipped)
{
    /// <summary>Settlement-token units the planned sales pay in total.</summary>
    public UInt256 TotalPayment => Sales.Aggregate(UInt256.Zero, (s, x) => checked(s + x.Payment));
}

/// <summary>
/// Plans <c>liquidateCollateral</c> for accounts that batchLiquidate cannot help: no open position, negative cash, some
/// collateral left and negative equity. The engine sells collateral at the oracle price less the asset's liquidation
/// discount until the cash debt is covered (or the balance is gone, when the remaining debt is settled as bad debt in
/// the same call). Sizing mirrors the contract's integer arithmetic exactly (docs/protocol.md, "Collateral liquidation").
/// One sale per account per block, from the asset worth most; the next block continues when one asset was not enough.
/// </summary>
public sealed class CollateralPlanner
{
    private readonly PlannerOptions _options;
    private readonly ILiquidationPriceGate _gate;

    public CollateralPlanner(PlannerOptions options, Address liquidator, ILiquidationPriceGate? gate = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        Liquidator = liquidator;
        _gate = gate ?? AlwaysAllowPriceGate.Instance;
    }

    public Address Liquidator { get; }

    /// <summary>True when only a collateral sale can act on the account: no position, negative cash and equity, collateral left.</summary>
    public static bool NeedsCollateralSale(AccountState state, Health health)
    {
        ArgumentNullException.ThrowIfNull(state);
        return state.PositionMask == 0 && state.Cash.IsNegative && state.CollateralMask != 0 && health.Equity.IsNegative;
    }

    /// <summary>
    /// Plans sales for the detection's candidates. <paramref name="budget"/> caps the settlement-token units all sales
    /// may pay together (the keeper's balance); sales beyond it are skipped.
    /// </summary>
    /// <param name="gasBudget">Estimated gas all sales may use together (what the block budget leaves); null = no limit.</param>
    public CollateralPlan Plan(DetectionResult detection, Func<Address, AccountState?> states, GasQuote gas, UInt256 budget,
        InFlightTracker? inFlight = null, IReadOnlyList<Hash32>? slotOracles = null, ulong? gasBudget = null)
    {
        ArgumentNullException.ThrowIfNull(detection);
        ArgumentNullException.ThrowIfNull(states);
        var sales = new List<CollateralSale>();
        var skipped = new List<PlanSkip>();
        RiskContext ctx = detection.Context;
        UInt256 left = budget;
        foreach (LiquidationCandidate c in detection.Liquidatable)
        {
            AccountState? state = states(c.Account);
            if (state is null || !NeedsCollateralSale(state, c.Health)) continue;
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
            if (slotOracles is not null && AccountPriceGating.FirstBlockedSlot(ctx, state, slotOracles, _gate, detection.Block) is { } blocked)
            {
                skipped.Add(new PlanSkip(c.Account, PlanSkipReason.PriceGated, $"price of oracle {slotOracles[blocked]} disputed"));
                continue;
            }
            CollateralSale? best = null;
            string? failure = null;
            for (int asset = 1; asset < state.Collateral.Length; asset++)
            {
                if (state.Collateral[asset].IsZero) continue;
                AssetParams p = ctx.Config.Assets[asset];
                UInt256 price;
                try
                {
                    price = ctx.Price(p.PriceSlot);
                }
                catch (PriceUnavailableException e)
                {
                    failure = e.Message;
                    continue;
                }
                CollateralSale? sale = Size(c.Account, asset, p, ctx.Config.Assets[0].Decimals, state.Cash, state.Collateral[asset], price, UInt256.Zero);
                if (sale is null) continue;
                sale = sale with { GasCost = gas.CostUsd(_options.CollateralLiquidateGas), GasLimit = _options.CollateralGasLimit() };
                if (best is null || sale.Reward > best.Reward) best = sale;
            }
            if (best is null)
            {
                skipped.Add(new PlanSkip(c.Account, failure is not null ? PlanSkipReason.WouldRevert : PlanSkipReason.NothingToLiquidate, failure));
                continue;
            }
            if (best.Reward <= best.GasCost || best.Profit < _options.MinProfit)
            {
                skipped.Add(new PlanSkip(c.Account, PlanSkipReason.Unprofitable, $"reward {best.Reward} gas {best.GasCost} (WAD USD)"));
                continue;
            }
            if (best.Payment > left)
            {
                skipped.Add(new PlanSkip(c.Account, PlanSkipReason.NoInventory, $"payment {best.Payment} exceeds the settlement-token balance left ({left})"));
                continue;
            }
            left -= best.Payment;
            sales.Add(best);
        }
        sales.Sort(static (a, b) =>
        {
            int x = b.Profit.CompareTo(a.Profit);
            return x != 0 ? x : a.Account.CompareTo(b.Account);
        });
        if (gasBudget is { } limit)
        {
            int fit = (int)Math.Min((ulong)sales.Count, limit / _options.CollateralLiquidateGas);
            foreach (CollateralSale over in sales.Skip(fit)) skipped.Add(new PlanSkip(over.Account, PlanSkipReason.OverBatchLimit, "block gas budget used"));
            sales.RemoveRange(fit, sales.Count - fit);
        }
        return new CollateralPlan(detection.Block, sales, skipped);
    }

    /// <summary>
    /// The engine's <c>_collateralSale</c>: discounted price <c>⌊p·(1−d)⌋</c>, units needed <c>⌈⌈−cash·WAD/dp⌉/scale⌉</c>
    /// capped by the balance and <paramref name="maxAmount"/> (0 = no cap), payment <c>⌈⌈amountWad·dp/WAD⌉/sScale⌉</c>.
    /// Null when the call would revert (ZeroAmount, no debt, zero discounted price).
    /// </summary>
    public static CollateralSale? Size(Address account, int assetId, AssetParams asset, byte settlementDecimals, Int256 cash, UInt256 balanceWad,
        UInt256 price, UInt256 maxAmount)
    {
        if (!cash.IsNegative || balanceWad.IsZero || asset.Decimals > 18 || settlementDecimals > 18) return null;
        UInt256 wad = RiskMath.Wad;
        UInt256 discount = new(asset.LiquidationDiscount);
        if (discount > wad) return null;
        UInt256 discPrice = RiskMath.MulDivDown(price, wad - discount, wad);
        if (discPrice.IsZero) return null;
        UInt256 scale = Pow10(18 - asset.Decimals);
        UInt256 needed = RiskMath.MulDivUp(RiskMath.Abs(cash), wad, discPrice);
        UInt256 amount = checked(needed + scale - UInt256.One) / scale;
        UInt256 units = balanceWad / scale;
        if (amount > units) amount = units;
        if (!maxAmount.IsZero && amount > maxAmount) amount = maxAmount;
        if (amount.IsZero) return null;
        UInt256 amountWad = checked(amount * scale);
        UInt256 payWad = RiskMath.MulDivUp(amountWad, discPrice, wad);
        UInt256 sScale = Pow10(18 - settlementDecimals);
        UInt256 payment = checked(payWad + sScale - UInt256.One) / sScale;
        UInt256 paymentWad = checked(payment * sScale);
        UInt256 value = RiskMath.MulDivDown(amountWad, price, wad);
        UInt256 reward = value > paymentWad ? value - paymentWad : UInt256.Zero;
        return new CollateralSale(account, assetId, amount, amountWad, payment, paymentWad, price, reward, UInt256.Zero, 0);
    }

    private static UInt256 Pow10(int n)
    {
        UInt256 r = UInt256.One;
        for (int i = 0; i < n; i++) r *= new UInt256(10UL);
        return r;
    }
}
