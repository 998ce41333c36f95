using System.Numerics;
using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Crypto;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Keeper.Execution;
using CrossMargin.Keeper.Tests.Oracle;

namespace CrossMargin.Keeper.Tests.Reporting;

/// <summary>
/// Fills a journal through the <see cref="TxJournal"/> API the way the executor does, and keeps, beside it, what a
/// report must show: counts, exact sums (BigInteger) and latency samples, computed from the inputs.
/// </summary>
internal sealed class ReportScenario
{
    public static readonly Address Keeper = Address.Parse("0x70997970C51812dc3A010C7d01b50e0d17dc79C8");

    private readonly TxJournal _journal;
    private readonly ManualTimeProvider _time;
    private ulong _nonce;
    private int _salt;

    public ReportScenario(TxJournal journal, ManualTimeProvider time)
    {
        _journal = journal;
        _time = time;
    }

    public ulong Block { get; set; } = 1_000;
    public int Intents { get; private set; }
    public int LiquidationIntents { get; private set; }
    public int Attempts { get; private set; }
    public int Mined { get; private set; }
    public BigInteger GasUsed { get; private set; }
    public BigInteger FeesWei { get; private set; }
    public BigInteger RewardsExpectedWei { get; private set; }
    public BigInteger RewardsExpectedIncludedWei { get; private set; }
    public BigInteger RewardsRealisedWei { get; private set; }
    public int AccountsWon { get; private set; }
    public int AccountsLost { get; private set; }
    public Dictionary<string, Dictionary<IntentState, int>> StatesByKind { get; } = [];
    public List<long> DetectionToSend { get; } = [];
    public List<long> SendToInclusion { get; } = [];
    public List<long> BlocksToInclusion { get; } = [];
    public Dictionary<ulong, int> WonByBlock { get; } = [];
    public Dictionary<ulong, int> LostByBlock { get; } = [];
    public Dictionary<string, List<double>> Deviation { get; } = [];

    private Hash32 NextHash() => Keccak256.Compute(BitConverter.GetBytes(++_salt));

    private static Address Account(int i) => Address.Parse("0x" + (0x1000 + i).ToString("x40"));

    private TxAttempt NewAttempt(string? intent, ulong nonce, AttemptKind kind, UInt256 maxFee) => new()
    {
        Hash = NextHash(),
        IntentId = intent,
        Sender = Keeper,
        Nonce = nonce,
        Kind = kind,
        Raw = [0x02, (byte)_salt],
        MaxFeePerGas = maxFee,
        MaxPriorityFeePerGas = 1_000_000_000,
        GasLimit = 900_000,
    };

    private void Count(string kind, IntentState state)
    {
        if (!StatesByKind.TryGetValue(kind, out var states)) StatesByKind[kind] = states = [];
        states[state] = states.GetValueOrDefault(state) + 1;
    }

    private void Paid(ulong gas, UInt256 price)
    {
        Mined++;
        GasUsed += gas;
        FeesWei += new BigInteger(gas) * price.ToBigInteger();
    }

    /// <summary>
    /// One liquidation intent of <paramref name="targets"/> accounts, detected now at <see cref="Block"/>.
    /// <paramref name="sendMs"/>: detection to the first send (null: never sent); <paramref name="replaceMs"/>: a
    /// replacement sent that long after the first; <paramref name="mineMs"/>/<paramref name="blocks"/>: last send to the
    /// receipt, detection block to inclusion block.
    /// </summary>
    public string Liquidation(IntentState outcome, int targets, UInt256 reward, long? sendMs, long mineMs = 0, ulong blocks = 0,
        long? replaceMs = null, ulong gasUsed = 0, UInt256 price = default, string kind = "liquidation")
    {
        var intent = new ExecutionIntent(Guid.NewGuid().ToString("N"), kind,
            [.. Enumerable.Range(0, targets).Select(i => new LiquidationTarget(Account((Intents * 16) + i), (ulong)i, (UInt256)(ulong)(i + 1)))],
            reward, _time.GetUtcNow(), Block);
        _journal.RecordIntent(intent);
        Intents++;
        LiquidationIntents++;
        Count(kind, outcome);
        RewardsExpectedWei += reward.ToBigInteger();

        if (sendMs is not { } toSend)
        {
            if (outcome == IntentState.Failed)
            {
                var refused = NewAttempt(intent.Id, _nonce, AttemptKind.Original, 50_000_000_000);
                _journal.RecordAttempt(refused);
                Attempts++;
                _journal.UpdateAttempt(refused.Hash, AttemptState.Dropped, error: "refused");
            }
            if (outcome != IntentState.Pending) _journal.UpdateIntent(intent.Id, outcome, "not sent");
            return intent.Id;
        }

        ulong nonce = _nonce++;
        _time.Advance(TimeSpan.FromMilliseconds(toSend));
        var first = NewAttempt(intent.Id, nonce, AttemptKind.Original, 40_000_000_000);
        _journal.RecordAttempt(first);
        _journal.MarkSent(first.Hash, Block);
        Attempts++;
        DetectionToSend.Add(toSend);
        _journal.UpdateIntent(intent.Id, IntentState.Sent);
        var last = first;
        long sinceFirst = 0;
        if (replaceMs is { } r)
        {
            _time.Advance(TimeSpan.FromMilliseconds(r));
            sinceFirst += r;
            last = NewAttempt(intent.Id, nonce, outcome == IntentState.Cancelled ? AttemptKind.Cancel : AttemptKind.Replacement, 60_000_000_000);
            _journal.RecordAttempt(last);
            _journal.MarkSent(last.Hash, Block);
            Attempts++;
        }
        _time.Advance(TimeSpan.FromMilliseconds(mineMs));
        sinceFirst += mineMs;
        ulong minedIn = Block + blocks;
        switch (outcome)
        {
            case IntentState.Included or IntentState.Reverted:
                _journal.UpdateAttempt(last.Hash, outcome == IntentState.Included ? AttemptState.Included : AttemptState.Reverted, minedIn, gasUsed, price);
                if (!ReferenceEquals(last, first)) _journal.UpdateAttempt(first.Hash, AttemptState.Replaced);
                _journal.UpdateIntent(intent.Id, outcome);
                Paid(gasUsed, price);
                SendToInclusion.Add(sinceFirst);
                BlocksToInclusion.Add((long)blocks);
                if (outcome == IntentState.Included)
                {
                    RewardsExpectedIncludedWei += reward.ToBigInteger();
                    AccountsWon += targets;
                    WonByBlock[minedIn] = WonByBlock.GetValueOrDefault(minedIn) + targets;
                }
                break;
            case IntentState.Cancelled:
                if (ReferenceEquals(last, first)) throw new InvalidOperationException("a cancellation needs replaceMs");
                _journal.UpdateAttempt(last.Hash, AttemptState.Included, minedIn, 21_000, price);
                _journal.UpdateAttempt(first.Hash, AttemptState.Cancelled);
                _journal.UpdateIntent(intent.Id, IntentState.Cancelled);
                Paid(21_000, price);
                break;
            case IntentState.Dropped:
                _journal.UpdateAttempt(first.Hash, AttemptState.Dropped, error: "nonce used by an unknown transaction");
                if (!ReferenceEquals(last, first)) _journal.UpdateAttempt(last.Hash, AttemptState.Dropped, error: "nonce used by an unknown transaction");
                _journal.UpdateIntent(intent.Id, IntentState.Dropped);
                break;
            case IntentState.Sent:
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(outcome), outcome, "not a sent outcome");
        }
        return intent.Id;
    }

    /// <summary>An oracle push (or another <paramref name="kind"/> whose value is a fee budget, not a reward), included.</summary>
    public void OraclePush(ulong gasUsed, UInt256 price, UInt256 feeBudget, string kind = "oracle-push")
    {
        var intent = new ExecutionIntent(Guid.NewGuid().ToString("N"), kind, [], feeBudget, _time.GetUtcNow(), Block);
        _journal.RecordIntent(intent);
        Intents++;
        Count(kind, IntentState.Included);
        var a = NewAttempt(intent.Id, _nonce++, AttemptKind.Original, 40_000_000_000);
        _journal.RecordAttempt(a);
        _journal.MarkSent(a.Hash, Block);
        Attempts++;
        _time.Advance(TimeSpan.FromMilliseconds(700));
        _journal.UpdateAttempt(a.Hash, AttemptState.Included, Block + 1, gasUsed, price);
        _journal.UpdateIntent(intent.Id, IntentState.Included);
        Paid(gasUsed, price);
    }

    /// <summary>A nonce gap fill (no intent), mined.</summary>
    public void GapFill(UInt256 price)
    {
        var a = NewAttempt(null, _nonce++, AttemptKind.GapFill, 40_000_000_000);
        _journal.RecordAttempt(a);
        _journal.MarkSent(a.Hash, Block);
        Attempts++;
        _journal.UpdateAttempt(a.Hash, AttemptState.Included, Block + 1, 21_000, price);
        Paid(21_000, price);
    }

    public void Lost(int accounts, ulong block)
    {
        _journal.RecordObservations([.. Enumerable.Range(0, accounts).Select(i =>
            new JournalObservation(_time.GetUtcNow(), block, ObservationKinds.LiquidationLost, Account(900 + i).ToString(), ""))]);
        AccountsLost += accounts;
        LostByBlock[block] = LostByBlock.GetValueOrDefault(block) + accounts;
    }

    public void Reward(string intentId, UInt256 wei, ulong block)
    {
        _journal.RecordObservation(ObservationKinds.RewardWei, intentId, wei, block);
        RewardsRealisedWei += wei.ToBigInteger();
    }

    public void Deviate(string asset, double bps)
    {
        _journal.RecordObservation(ObservationKinds.OracleDeviationBps, asset, bps, Block);
        if (!Deviation.TryGetValue(asset, out var list)) Deviation[asset] = list = [];
        list.Add(bps);
    }

    /// <summary>A seeded mix of every outcome, oracle pushes, gap fills and observations.</summary>
    public static ReportScenario Random(TxJournal journal, ManualTimeProvider time, int seed, int intents)
    {
        var rng = new Random(seed);
        var s = new ReportScenario(journal, time);
        IntentState[] outcomes =
        [
            IntentState.Included, IntentState.Included, IntentState.Included, IntentState.Reverted, IntentState.Cancelled,
            IntentState.Dropped, IntentState.Skipped, IntentState.Failed, IntentState.Pending, IntentState.Sent,
        ];
        for (int i = 0; i < intents; i++)
        {
            s.Block += (ulong)rng.Next(0, 3);
            var outcome = outcomes[rng.Next(outcomes.Length)];
            // rewards up to ~1e21 wei and gas prices up to ~2e11 wei: sums well past 64 bits
            UInt256 reward = (UInt256)((ulong)rng.NextInt64(1, long.MaxValue)) * (ulong)rng.Next(1, 200);
            UInt256 price = (ulong)rng.NextInt64(1_000_000_000, 200_000_000_000);
            ulong gas = (ulong)rng.Next(150_000, 2_500_000);
            bool sent = outcome is not (IntentState.Skipped or IntentState.Failed or IntentState.Pending);
            long? replace = outcome == IntentState.Cancelled || rng.Next(4) == 0 ? rng.Next(500, 5_000) : null;
            bool collateral = rng.Next(6) == 0;
            string id = s.Liquidation(outcome, collateral ? 1 : rng.Next(1, 6), reward, sent ? rng.Next(0, 400) : null, rng.Next(800, 15_000),
                (ulong)rng.Next(0, 4), sent ? replace : null, gas, price, collateral ? "collateral" : "liquidation");
            if (outcome == IntentState.Included && rng.Next(2) == 0) s.Reward(id, reward / 2, s.Block + 1);
            if (rng.Next(5) == 0) s.Lost(rng.Next(1, 4), s.Block);
            if (rng.Next(7) == 0) s.OraclePush((ulong)rng.Next(60_000, 120_000), price, 5_000_000_000_000_000);
            if (rng.Next(15) == 0) s.GapFill(price);
            if (rng.Next(40) == 0) s.OraclePush(46_000, price, reward, "approve");
            s.Deviate("ETH/USD", Math.Round((rng.NextDouble() - 0.5) * 80, 3));
            if (i % 2 == 0) s.Deviate("BTC/USD", Math.Round(rng.NextDouble() * 40, 3));
            time.Advance(TimeSpan.FromMilliseconds(rng.Next(100, 3_000)));
        }
        return s;
    }
}
