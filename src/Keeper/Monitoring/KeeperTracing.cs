using System.Diagnostics;

namespace CrossMargin.Keeper.Monitoring;

/// <summary>
/// The keeper's traces: one <see cref="ActivitySource"/> "CrossMargin.Keeper". Per block a <c>block</c> span with
/// children <c>detect</c> (with <c>price_tick</c>, the pinned price read), <c>plan</c>, and, when the block sends
/// transactions, a <c>submit</c> span (all of the block's transactions, simulated in one batch and sent in another)
/// with the executor's <c>simulate</c>, <c>sign</c> and <c>send</c> spans. When a liquidation is mined an
/// <c>included</c> span (from the send to the receipt, tagged with the intent id) is linked to the <c>submit</c> span
/// that sent it. Without a listener (no OTLP exporter) no span is created.
/// </summary>
public static class KeeperTracing
{
    public const string SourceName = "CrossMargin.Keeper";

    public const string Block = "block";
    public const string Detect = "detect";
    public const string PriceTick = "price_tick";
    public const string Plan = "plan";
    public const string Submit = "submit";
    public const string Simulate = "simulate";
    public const string Sign = "sign";
    public const string Send = "send";
    public const string Included = "included";

    public static ActivitySource Source { get; } = new(SourceName);

    /// <summary>Starts a span (null when nobody listens).</summary>
    public static Activity? Start(string name) => Source.StartActivity(name);

    /// <summary>Starts the span of one block.</summary>
    public static Activity? StartBlock(ulong block)
    {
        Activity? a = Source.StartActivity(Block);
        a?.SetTag("block.number", block);
        return a;
    }

    /// <summary>Starts the span of one block's submission of <paramref name="transactions"/> transactions.</summary>
    public static Activity? StartSubmit(int transactions)
    {
        Activity? a = Source.StartActivity(Submit);
        a?.SetTag("tx.count", transactions);
        return a;
    }
}
