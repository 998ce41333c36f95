using CrossMargin.Ethereum.Numerics;
using CrossMargin.Keeper.Execution;
using CrossMargin.Keeper.Tests.Oracle;
using Microsoft.Data.Sqlite;

namespace CrossMargin.Keeper.Tests.Reporting;

public sealed class ObservationJournalTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cm-observations-").FullName;
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

    /// <summary>A journal file exactly as schema version 1 wrote it, with one intent and one attempt.</summary>
    private void WriteVersion1File(string path)
    {
        using var db = new SqliteConnection($"Data Source={path};Pooling=False");
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = """
            PRAGMA journal_mode=WAL;
            CREATE TABLE intents (
                id TEXT PRIMARY KEY, kind TEXT NOT NULL, targets TEXT NOT NULL, expected_reward TEXT NOT NULL,
                detected_at INTEGER NOT NULL, detected_block INTEGER NOT NULL, state TEXT NOT NULL, reason TEXT,
                created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
            CREATE TABLE attempts (
                hash TEXT PRIMARY KEY, intent_id TEXT REFERENCES intents(id), sender TEXT NOT NULL, nonce INTEGER NOT NULL,
                kind TEXT NOT NULL, raw BLOB NOT NULL, max_fee TEXT NOT NULL, tip TEXT NOT NULL, gas_limit INTEGER NOT NULL,
                value TEXT NOT NULL, state TEXT NOT NULL, created_at INTEGER NOT NULL, sent_at INTEGER, updated_at INTEGER NOT NULL,
                sent_block INTEGER, block_number INTEGER, gas_used INTEGER, effective_gas_price TEXT, error TEXT);
            CREATE INDEX attempts_open ON attempts(sender, state, nonce);
            CREATE INDEX attempts_intent ON attempts(intent_id);
            CREATE INDEX intents_state ON intents(state);
            INSERT INTO intents VALUES ('v1-intent', 'liquidation',
                '[{"account":"0x90f79bf6eb2c4f870365e785982e1f101e93b906","market":"2","size":"1000"}]',
                '7000000000000000000', 1717243200000, 500, 'Included', NULL, 1717243200000, 1717243203000);
            INSERT INTO attempts VALUES ('0x1111111111111111111111111111111111111111111111111111111111111111', 'v1-intent',
                '0x70997970c51812dc3a010c7d01b50e0d17dc79c8', 4, 'Original', x'02', '50000000000', '1000000000', 400000, '0',
                'Included', 1717243200100, 1717243200150, 1717243203000, 500, 501, 261000, '12000000000', NULL);
            PRAGMA user_version=1;
            """;
        cmd.ExecuteNonQuery();
    }

    private static long UserVersion(string path)
    {
        using var db = new SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False");
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = "PRAGMA user_version;";
        return (long)cmd.ExecuteScalar()!;
    }

    [Fact]
    public void A_version_1_file_migrates_to_version_2_keeping_its_rows()
    {
        WriteVersion1File(PathOf());
        Assert.Equal(1, UserVersion(PathOf()));

        using (var j = TxJournal.Open(PathOf(), _time))
        {
            Assert.Equal(2, j.StoredSchemaVersion);
            var intent = j.GetIntent("v1-intent")!;
            Assert.Equal(IntentState.Included, intent.State);
            Assert.Equal(UInt256.Parse("7000000000000000000"), intent.Intent.ExpectedReward);
            var attempt = Assert.Single(j.GetAllAttempts());
            Assert.Equal(261_000UL, attempt.GasUsed);
            Assert.Equal((UInt256)12_000_000_000UL, attempt.EffectiveGasPrice);
            Assert.Empty(j.GetObservations(ObservationKinds.OracleDeviationBps));
            j.RecordObservation(ObservationKinds.OracleDeviationBps, "ETH/USD", 12.5, 501);
        }
        Assert.Equal(2, UserVersion(PathOf()));

        using var reopened = TxJournal.Open(PathOf(), _time);
        var o = Assert.Single(reopened.GetObservations(ObservationKinds.OracleDeviationBps));
        Assert.Equal(("ETH/USD", 12.5, (ulong?)501UL), (o.Key, o.AsDouble(), o.Block));
        Assert.Equal("v1-intent", Assert.Single(reopened.GetIntents()).Intent.Id);
    }

    [Fact]
    public void Read_only_open_of_a_version_1_file_changes_nothing_and_has_no_observations()
    {
        WriteVersion1File(PathOf());
        using (var j = TxJournal.OpenReadOnly(PathOf(), _time))
        {
            Assert.Equal(1, j.StoredSchemaVersion);
            Assert.Empty(j.GetObservations(ObservationKinds.RewardWei));
            Assert.Empty(j.CountObservationsByKind());
            Assert.Single(j.GetIntents());
            var ex = Assert.Throws<TxJournalException>(() => j.UpdateIntent("v1-intent", IntentState.Failed));
            Assert.Equal(TxJournalError.WriteFailed, ex.Error);
        }
        Assert.Equal(1, UserVersion(PathOf()));
    }

    [Fact]
    public void Observations_round_trip_numbers_exact_amounts_and_text_in_order()
    {
        UInt256 big = UInt256.Parse("115792089237316195423570985008687907853269984665640564039457584007913129639935");
        using (var j = TxJournal.Open(PathOf(), _time))
        {
            j.RecordObservation(ObservationKinds.OracleDeviationBps, "ETH/USD", -3.25, 10);
            _time.Advance(TimeSpan.FromMilliseconds(1500));
            j.RecordObservation(ObservationKinds.OracleDeviationBps, "BTC/USD", 0.1 + 0.2);
            j.RecordObservation(ObservationKinds.RewardWei, "intent-a", big, 11);
            j.RecordObservation(ObservationKinds.LiquidationLost, "0xabc", "0xdeadbeef", 12);
        }
        using var r = TxJournal.Open(PathOf(), _time);
        var dev = r.GetObservations(ObservationKinds.OracleDeviationBps);
        Assert.Equal(["ETH/USD", "BTC/USD"], dev.Select(o => o.Key));
        Assert.Equal(-3.25, dev[0].AsDouble());
        Assert.Equal(0.1 + 0.2, dev[1].AsDouble()); // round-trip text keeps every bit
        Assert.Equal((ulong?)10UL, dev[0].Block);
        Assert.Null(dev[1].Block);
        Assert.Equal(dev[0].At.AddMilliseconds(1500), dev[1].At);
        Assert.Equal(big, Assert.Single(r.GetObservations(ObservationKinds.RewardWei)).AsUInt256());
        Assert.Equal("0xdeadbeef", Assert.Single(r.GetObservations(ObservationKinds.LiquidationLost)).Value);
        Assert.Equal(new Dictionary<string, long>
        {
            [ObservationKinds.LiquidationLost] = 1, [ObservationKinds.OracleDeviationBps] = 2, [ObservationKinds.RewardWei] = 1,
        }, r.CountObservationsByKind());
    }

    [Fact]
    public void A_batch_is_written_in_one_transaction_and_read_back_in_order()
    {
        var start = _time.GetUtcNow();
        var batch = Enumerable.Range(0, 2_000)
            .Select(i => JournalObservation.Number(start.AddMilliseconds(i), (ulong)(100 + (i / 10)), ObservationKinds.OracleDeviationBps, i % 2 == 0 ? "ETH/USD" : "BTC/USD", i / 4.0))
            .ToList();
        using var j = TxJournal.Open(PathOf(), _time);
        j.RecordObservations(batch);
        var read = j.GetObservations(ObservationKinds.OracleDeviationBps);
        Assert.Equal(batch, read);

        // a bad row fails the whole batch before anything is written
        Assert.Throws<ArgumentException>(() => j.RecordObservations([batch[0], batch[1] with { Kind = "" }]));
        Assert.Equal(2_000, j.GetObservations(ObservationKinds.OracleDeviationBps).Count);
    }

    [Fact]
    public void Non_finite_numbers_are_refused()
    {
        using var j = TxJournal.Open(PathOf(), _time);
        Assert.Throws<ArgumentOutOfRangeException>(() => j.RecordObservation(ObservationKinds.OracleDeviationBps, "ETH/USD", double.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => j.RecordObservation(ObservationKinds.OracleDeviationBps, "ETH/USD", double.PositiveInfinity));
        Assert.Empty(j.GetObservations(ObservationKinds.OracleDeviationBps));
    }

    [Fact]
    public void Read_only_open_refuses_missing_files_and_files_that_are_not_journals()
    {
        Assert.Equal(TxJournalError.Unavailable, Assert.Throws<TxJournalException>(() => TxJournal.OpenReadOnly(PathOf("missing.db"))).Error);
        Assert.False(File.Exists(PathOf("missing.db")));

        File.WriteAllText(PathOf("garbage.db"), new string('x', 4096));
        Assert.Equal(TxJournalError.Corrupt, Assert.Throws<TxJournalException>(() => TxJournal.OpenReadOnly(PathOf("garbage.db"))).Error);

        using (var db = new SqliteConnection($"Data Source={PathOf("other.db")};Pooling=False"))
        {
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText = "CREATE TABLE t (x INTEGER);";
            cmd.ExecuteNonQuery();
        }
        Assert.Equal(TxJournalError.Corrupt, Assert.Throws<TxJournalException>(() => TxJournal.OpenReadOnly(PathOf("other.db"))).Error);

        using (var db = new SqliteConnection($"Data Source={PathOf("newer.db")};Pooling=False"))
        {
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText = $"PRAGMA user_version={TxJournal.SchemaVersion + 1};";
            cmd.ExecuteNonQuery();
        }
        Assert.Equal(TxJournalError.SchemaTooNew, Assert.Throws<TxJournalException>(() => TxJournal.OpenReadOnly(PathOf("newer.db"))).Error);
    }

    [Fact]
    public void Read_only_open_sees_what_a_writer_beside_it_committed()
    {
        using var writer = TxJournal.Open(PathOf(), _time);
        writer.RecordObservation(ObservationKinds.RewardWei, "a", (UInt256)5UL, 1);
        using var reader = TxJournal.OpenReadOnly(PathOf(), _time);
        Assert.Single(reader.GetObservations(ObservationKinds.RewardWei));
        writer.RecordObservation(ObservationKinds.RewardWei, "b", (UInt256)6UL, 2);
        Assert.Equal(["a", "b"], reader.GetObservations(ObservationKinds.RewardWei).Select(o => o.Key));
    }
}
