using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Crypto;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Keeper.Execution;
using CrossMargin.Keeper.Tests.Oracle;
using Microsoft.Data.Sqlite;

namespace CrossMargin.Keeper.Tests.Execution;

public sealed class JournalTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cm-journal-").FullName;
    private readonly ManualTimeProvider _time = new();

    private string PathOf(string name = "journal.db") => Path.Combine(_dir, name);

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_dir, true);
        }
        catch (IOException)
        {
        }
    }

    private static TxAttempt Attempt(string? intent, ulong nonce, byte salt) => new()
    {
        Hash = Keccak256.Compute([salt, (byte)nonce]),
        IntentId = intent,
        Sender = Address.Parse("0x70997970C51812dc3A010C7d01b50e0d17dc79C8"),
        Nonce = nonce,
        Kind = AttemptKind.Original,
        Raw = [0x02, salt, 0x01],
        MaxFeePerGas = UInt256.Parse("115792089237316195423570985008687907853269984665640564039457584007913129639935"),
        MaxPriorityFeePerGas = 1_000_000_000,
        GasLimit = 300_000,
        Value = 7,
    };

    [Fact]
    public void Intents_and_attempts_round_trip_through_a_reopened_file()
    {
        var intent = new ExecutionIntent("i-1", "liquidation",
            [new LiquidationTarget(Address.Parse("0x90F79bf6EB2c4f870365E785982E1f101E93b906"), 3, UInt256.Parse("123456789012345678901234567890"))],
            UInt256.Parse("5000000000000000000"), new DateTimeOffset(2024, 1, 2, 3, 4, 5, 678, TimeSpan.Zero), 12_345);
        var attempt = Attempt(intent.Id, 9, 1);
        using (var j = TxJournal.Open(PathOf(), _time))
        {
            j.RecordIntent(intent);
            j.RecordAttempt(attempt);
            _time.Advance(TimeSpan.FromSeconds(2));
            j.MarkSent(attempt.Hash, 12_346);
            j.UpdateAttempt(attempt.Hash, AttemptState.Included, 12_347, 250_000, 11_000_000_000);
            j.UpdateIntent(intent.Id, IntentState.Included);
        }
        using var reopened = TxJournal.Open(PathOf(), _time);
        var stored = reopened.GetIntent(intent.Id)!;
        Assert.Equal(intent.Id, stored.Intent.Id);
        Assert.Equal(intent.Kind, stored.Intent.Kind);
        Assert.Equal(intent.Targets, stored.Intent.Targets);
        Assert.Equal(intent.ExpectedReward, stored.Intent.ExpectedReward);
        Assert.Equal(intent.DetectedAt, stored.Intent.DetectedAt);
        Assert.Equal(intent.DetectedBlock, stored.Intent.DetectedBlock);
        Assert.Equal(IntentState.Included, stored.State);
        var a = reopened.GetAttempt(attempt.Hash)!;
        Assert.Equal(attempt.Raw, a.Raw);
        Assert.Equal(attempt.MaxFeePerGas, a.MaxFeePerGas);
        Assert.Equal(attempt.MaxPriorityFeePerGas, a.MaxPriorityFeePerGas);
        Assert.Equal(attempt.Sender, a.Sender);
        Assert.Equal(9UL, a.Nonce);
        Assert.Equal((UInt256)7UL, a.Value);
        Assert.Equal(AttemptState.Included, a.State);
        Assert.Equal(12_346UL, a.SentBlock);
        Assert.Equal(12_347UL, a.BlockNumber);
        Assert.Equal(250_000UL, a.GasUsed);
        Assert.Equal((UInt256)11_000_000_000UL, a.EffectiveGasPrice);
        Assert.Equal(_time.GetUtcNow(), a.SentAt);
        Assert.Equal(TxJournal.SchemaVersion, reopened.StoredSchemaVersion);
    }

    [Fact]
    public void A_transaction_journals_all_attempts_or_none()
    {
        using var j = TxJournal.Open(PathOf(), _time);
        var intent = ExecutionIntent.Liquidation([], UInt256.One, _time.GetUtcNow(), 1);
        j.RecordIntent(intent);
        TxAttempt a = Attempt(intent.Id, 1, 1), b = Attempt(intent.Id, 2, 2);
        j.RunInTransaction(() =>
        {
            j.RecordAttempt(a);
            j.RecordAttempt(b);
        });
        Assert.Equal(2, j.GetAttempts(intent.Id).Count);

        // the second record collides with the first (same hash): the whole transaction rolls back
        TxAttempt c = Attempt(intent.Id, 3, 3);
        Assert.Throws<TxJournalException>(() => j.RunInTransaction(() =>
        {
            j.RecordAttempt(c);
            j.RecordAttempt(c);
        }));
        Assert.Null(j.GetAttempt(c.Hash));
        Assert.Equal(2, j.GetAttempts(intent.Id).Count);

        // and the journal still takes writes afterwards
        j.RecordAttempt(c);
        Assert.NotNull(j.GetAttempt(c.Hash));
    }

    [Fact]
    public void Journal_uses_wal_and_versions_its_schema()
    {
        using (TxJournal.Open(PathOf(), _time)) { }
        using var db = new SqliteConnection($"Data Source={PathOf()};Pooling=False");
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = "PRAGMA journal_mode;";
        Assert.Equal("wal", cmd.ExecuteScalar());
        cmd.CommandText = "PRAGMA user_version;";
        Assert.Equal((long)TxJournal.SchemaVersion, cmd.ExecuteScalar());
    }

    [Fact]
    public void Open_attempts_are_listed_by_nonce_and_closed_ones_are_not()
    {
        using var j = TxJournal.Open(PathOf(), _time);
        j.RecordIntent(new ExecutionIntent("x", "liquidation", [], 1, _time.GetUtcNow(), 1));
        var a5 = Attempt("x", 5, 1);
        var a4 = Attempt("x", 4, 2);
        var a3 = Attempt("x", 3, 3);
        j.RecordAttempt(a5);
        j.RecordAttempt(a4);
        j.RecordAttempt(a3);
        j.UpdateAttempt(a3.Hash, AttemptState.Included, 1, 1, 1);
        Assert.Equal([4UL, 5UL], j.GetOpenAttempts(a5.Sender).Select(a => a.Nonce));
        Assert.Equal(3, j.GetAttempts("x").Count);
    }

    [Fact]
    public void Missing_directory_is_a_typed_unavailable_error()
    {
        var ex = Assert.Throws<TxJournalException>(() => TxJournal.Open(Path.Combine(_dir, "nope", "journal.db"), _time));
        Assert.Equal(TxJournalError.Unavailable, ex.Error);
    }

    [Fact]
    public void A_file_that_is_not_a_database_is_a_typed_corrupt_error()
    {
        File.WriteAllText(PathOf("garbage.db"), new string('x', 4096));
        var ex = Assert.Throws<TxJournalException>(() => TxJournal.Open(PathOf("garbage.db"), _time));
        Assert.Equal(TxJournalError.Corrupt, ex.Error);
    }

    [Fact]
    public void A_newer_schema_is_refused()
    {
        using (var db = new SqliteConnection($"Data Source={PathOf()};Pooling=False"))
        {
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText = $"PRAGMA user_version={TxJournal.SchemaVersion + 1};";
            cmd.ExecuteNonQuery();
        }
        var ex = Assert.Throws<TxJournalException>(() => TxJournal.Open(PathOf(), _time));
        Assert.Equal(TxJournalError.SchemaTooNew, ex.Error);
    }

    [Fact]
    public void Duplicate_intent_is_rejected_with_a_typed_error()
    {
        using var j = TxJournal.Open(PathOf(), _time);
        var intent = new ExecutionIntent("dup", "liquidation", [], 1, _time.GetUtcNow(), 1);
        j.RecordIntent(intent);
        Assert.Equal(TxJournalError.Corrupt, Assert.Throws<TxJournalException>(() => j.RecordIntent(intent)).Error);
        Assert.Throws<TxJournalException>(() => j.UpdateIntent("missing", IntentState.Failed));
    }
}
