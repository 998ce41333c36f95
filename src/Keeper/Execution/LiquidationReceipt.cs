using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Abi;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Ethereum.Rpc;
using E = CrossMargin.Contracts.CrossMarginEngine;

namespace CrossMargin.Keeper.Execution;

/// <summary>One request the engine skipped in a batch (<c>LiquidationSkipped</c>).</summary>
public readonly record struct SkippedRequest(Address Account, byte Reason)
{
    /// <summary>The reason as a metric label (the contract's SKIP_* codes).</summary>
    public string Label => Reason switch
    {
        1 => "not_liquidatable",
        2 => "no_position",
        3 => "unknown_market",
        4 => "self_liquidation",
        _ => "other",
    };
}

/// <summary>
/// What a mined liquidation transaction did, read from its receipt's logs: the requests won (<c>Liquidated</c> events
/// naming the keeper as liquidator), the keeper reward they carried (settlement-token WAD, i.e. USD), and the requests
/// skipped. An account is lost when one of its requests was skipped and no request of the same transaction liquidated
/// it (a request for a second market of an account an earlier request already brought above maintenance is skipped,
/// not lost). Logs of other contracts' events and undecodable logs are ignored.
/// </summary>
public sealed record LiquidationReceipt(int RequestsWon, IReadOnlyList<Address> AccountsWon, UInt256 RewardWad,
    IReadOnlyList<SkippedRequest> Skipped, IReadOnlyList<Address> AccountsLost)
{
    public static LiquidationReceipt Empty { get; } = new(0, [], UInt256.Zero, [], []);

    /// <param name="logs">The receipt's logs (null: none).</param>
    /// <param name="keeper">The keeper's address; Liquidated events of other liquidators are not ours. Null: every one counts.</param>
    public static LiquidationReceipt Read(IReadOnlyList<LogEntry>? logs, Address? keeper)
    {
        if (logs is null || logs.Count == 0) return Empty;
        int won = 0;
        UInt256 reward = UInt256.Zero;
        var accounts = new List<Address>();
        var liquidated = new HashSet<Address>();
        var skipped = new List<SkippedRequest>();
        foreach (LogEntry log in logs)
        {
            if (log.Topics.Count == 0) continue;
            try
            {
                if (log.Topics[0] == E.LiquidatedEvent.Topic0 && E.LiquidatedEvent.TryDecode(log.Topics, log.Data, out var l))
                {
                    if (keeper is { } me && l.Liquidator != me) continue;
                    won++;
                    reward = checked(reward + l.KeeperReward);
                    if (liquidated.Add(l.Account)) accounts.Add(l.Account);
                }
                else if (log.Topics[0] == E.LiquidationSkippedEvent.Topic0 && E.LiquidationSkippedEvent.TryDecode(log.Topics, log.Data, out var s))
                {
                    skipped.Add(new SkippedRequest(s.Account, s.Reason));
                }
            }
            catch (AbiDecodingException)
            {
                // the signature of an engine event with another layout (some other contract's log): not ours to count
            }
        }
        var lost = new List<Address>();
        var seen = new HashSet<Address>();
        foreach (SkippedRequest s in skipped)
        {
            if (!liquidated.Contains(s.Account) && seen.Add(s.Account)) lost.Add(s.Account);
        }
        return new LiquidationReceipt(won, accounts, reward, skipped, lost);
    }

    /// <summary>True when a skipped request of <paramref name="account"/> counts as lost.</summary>
    public bool IsLost(Address account) => AccountsLost.Contains(account);
}
