using CrossMargin.Ethereum;
using CrossMargin.Risk;

namespace CrossMargin.Keeper.Planning;

/// <summary>
/// The price gate applied to a whole account. Cross-margin health depends on every price the account holds: its open
/// positions' markets and its non-cash collateral. If the gate disputes any of them, the account's shortfall itself
/// rests on that price, so none of its positions or collateral may be liquidated — not even those in markets whose
/// price the gate accepts.
/// </summary>
public static class AccountPriceGating
{
    /// <summary>
    /// The first price slot of <paramref name="state"/> the gate blocks at <paramref name="block"/>, or null when all
    /// pass. Slots without a price are skipped (the liquidation simulation reports them).
    /// </summary>
    public static int? FirstBlockedSlot(RiskContext ctx, AccountState state, IReadOnlyList<Hash32> slotOracles, ILiquidationPriceGate gate, ulong block)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(slotOracles);
        ArgumentNullException.ThrowIfNull(gate);
        RiskConfig cfg = ctx.Config;
        for (int m = 0; m < state.Positions.Length; m++)
        {
            if (state.Positions[m].IsOpen && Blocks(ctx, cfg.Markets[m].PriceSlot, slotOracles, gate, block)) return cfg.Markets[m].PriceSlot;
        }
        for (int a = 1; a < state.Collateral.Length; a++) // asset 0 is the settlement cash: no price
        {
            if (!state.Collateral[a].IsZero && Blocks(ctx, cfg.Assets[a].PriceSlot, slotOracles, gate, block)) return cfg.Assets[a].PriceSlot;
        }
        return null;
    }

    private static bool Blocks(RiskContext ctx, int slot, IReadOnlyList<Hash32> slotOracles, ILiquidationPriceGate gate, ulong block)
    {
        try
        {
            return !gate.Allows(slotOracles[slot], ctx.Price(slot), block);
        }
        catch (PriceUnavailableException)
        {
            return false;
        }
    }
}
