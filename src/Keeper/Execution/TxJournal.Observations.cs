using System.Globalization;
using CrossMargin.Ethereum.Numerics;
using Microsoft.Data.Sqlite;

namespace CrossMargin.Keeper.Execution;

/// <summary>
/// The observation kinds the keeper records in the journal (<see cref="TxJournal.RecordObservation(string, string, double, ulong?)"/>)
/// and that <c>crossmargin report</c> renders. Each observation has a time (ms), an optional block, a kind, a key and a value
/// stored as text (numbers in invariant round-trip form, amounts as exact decimal integers).
/// <list type="table">
/// <listheader><term>kind</term><description>key, value, how the report uses it</description></listheader>
/// <item><term><see cref="OracleDeviationBps"/></term><description>key: asset symbol as configured (e.g. <c>ETH/USD</c>);
/// value: a number, the deviation of the on-chain price from the keeper's aggregated reference price in basis points,
/// signed (positive when the on-chain price is above the reference); block: the head when measured.
/// Rendered: one line per asset over time.</description></item>
/// <item><term><see cref="LiquidationWon"/></term><description>key: the liquidated account (0x address); value: our
/// transaction hash (or empty); block: the inclusion block. Rendered: counted as accounts won (observed).</description></item>
/// <item><term><see cref="LiquidationLost"/></term><description>key: an account we targeted that another liquidator
/// liquidated first (0x address); value: the other transaction's hash when known (or empty); block: the block it was
/// liquidated in. Rendered: accounts lost to others, per block and in total.</description></item>
/// <item><term><see cref="RewardWei"/></term><description>key: the intent id; value: the keeper reward the transaction's
/// <c>Liquidated</c> events carried (settlement-token WAD, USD), converted to gas-token wei at the gas token's price of
/// the last block the keeper detected on (exact decimal integer); block: the inclusion block. Rendered: summed as
/// rewards realised, and per block.</description></item>
/// </list>
/// Other kinds may be recorded; the report lists them with their counts only.
/// </summary>
public static class ObservationKinds
{
    /// <summary>On-chain vs reference price deviation in basis points, per asset (number).</summary>
    public const string OracleDeviationBps = "oracle_deviation_bps";

    /// <summary>An account our transaction liquidated (key: account).</summary>
    public const string LiquidationWon = "liquidation_won";

    /// <summary>An account we targeted that another liquidator took first (key: account).</summary>
    public const string LiquidationLost = "liquidation_lost";

    /// <summary>Reward received for an intent, in wei (key: intent id; exact integer).</summary>
    public const string RewardWei = "reward_wei";
}

/// <summary>One row of the journal's <c>observations</c> table.</summary>
/// <param name="At">When it was observed (stored in Unix milliseconds).</param>
/// <param name="Block">The block it refers to, when known.</param>
/// <param name="Kind">One of <see cref="ObservationKinds"/> or another short name.</param>
/// <param name="Key">What it is about (asset, account, intent id).</param>
/// <param name="Value">The value as text: a number in invariant round-trip form, an exact decimal integer, or any text.</param>
public sealed record JournalObservation(DateTimeOffset At, ulong? Block, string Kind, string Key, string Value)
{
    /// <summary>An observation whose value is a number (must be finite).</summary>
    public static JournalObservation Number(DateTimeOffset at, ulong? block, string kind, string key, double value)
    {
        if (!double.IsFinite(value)) throw new ArgumentOutOfRangeException(nameof(value), value, "An observation value must be finite.");
        return new JournalObservation(at, block, kind, key, value.ToString("R", CultureInfo.InvariantCulture));
    }

    /// <summary>An observation whose value is an exact integer amount (wei, gas).</summary>
    public static JournalObservation Amount(DateTimeOffset at, ulong? block, string kind, string key, UInt256 value) =>
        new(at, block, kind, key, value.ToString());

    /// <summary>The value as a number.</summary>
    /// <exception cref="FormatException">The value is not a number.</exception>
    public double AsDouble() => double.Parse(Value, NumberStyles.Float, CultureInfo.InvariantCulture);

    /// <summary>The value as an exact unsigned integer.</summary>
    /// <exception cref="FormatException">The value is not a decimal integer.</exception>
    public UInt256 AsUInt256() => UInt256.Parse(Value);
}

public sealed partial class TxJournal
{
    private static void MigrateToObservations(SqliteConnection db, SqliteTransaction tx) => Exec(db, """
        CREATE TABLE observations (
            at INTEGER NOT NULL,
            block INTEGER,
            kind TEXT NOT NULL,
            key TEXT NOT NULL,
            value TEXT NOT NULL
        );
        CREATE INDEX observations_kind ON observations(kind, at);
        """, tx);

    /// <summary>
    /// Opens an existing journal for reading only: no schema migration, no change to the file, safe beside a running
    /// keeper. A version 1 journal reads as having no observations.
    /// </summary>
    /// <exception cref="TxJournalException">The file is missing, not a journal, or newer than this code.</exception>
    public static TxJournal OpenReadOnly(string path, TimeProvider? timeProvider = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string full = System.IO.Path.GetFullPath(path);
        if (!File.Exists(full))
            throw new TxJournalException(TxJournalError.Unavailable, $"The journal '{full}' does not exist.");
        var cs = new SqliteConnectionStringBuilder { DataSource = full, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString();
        var db = new SqliteConnection(cs);
        try
        {
            db.Open();
            Exec(db, "PRAGMA busy_timeout=5000;");
            int version = Convert.ToInt32(Scalar(db, "PRAGMA user_version;"), CultureInfo.InvariantCulture);
            if (version > SchemaVersion)
                throw new TxJournalException(TxJournalError.SchemaTooNew, $"The journal '{full}' has schema version {version}; this keeper understands up to {SchemaVersion}.");
            if (version < 1 || Convert.ToInt64(Scalar(db, "SELECT count(*) FROM sqlite_master WHERE type='table' AND name IN ('intents','attempts');"), CultureInfo.InvariantCulture) != 2)
                throw new TxJournalException(TxJournalError.Corrupt, $"The file '{full}' is not a keeper journal.");
            return new TxJournal(db, timeProvider ?? TimeProvider.System, full);
        }
        catch (TxJournalException)
        {
            db.Dispose();
            throw;
        }
        catch (SqliteException ex)
        {
            db.Dispose();
            var error = ex.SqliteErrorCode is 26 /* NOTADB */ or 11 /* CORRUPT */ ? TxJournalError.Corrupt : TxJournalError.Unavailable;
            throw new TxJournalException(error, $"The journal '{full}' cannot be opened: {ex.Message}", ex);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            db.Dispose();
            throw new TxJournalException(TxJournalError.Unavailable, $"The journal '{full}' cannot be opened: {ex.Message}", ex);
        }
    }

    // ------------------------------------------------------------------ observations

    /// <summary>Records a numeric observation now (e.g. <see cref="ObservationKinds.OracleDeviationBps"/>).</summary>
    public void RecordObservation(string kind, string key, double value, ulong? block = null) =>
        RecordObservations([JournalObservation.Number(_time.GetUtcNow(), block, kind, key, value)]);

    /// <summary>Records an exact integer observation now (e.g. <see cref="ObservationKinds.RewardWei"/>).</summary>
    public void RecordObservation(string kind, string key, UInt256 value, ulong? block = null) =>
        RecordObservations([JournalObservation.Amount(_time.GetUtcNow(), block, kind, key, value)]);

    /// <summary>Records a text observation now (e.g. <see cref="ObservationKinds.LiquidationLost"/> with a transaction hash).</summary>
    public void RecordObservation(string kind, string key, string value, ulong? block = null) =>
        RecordObservations([new JournalObservation(_time.GetUtcNow(), block, kind, key, value)]);

    /// <summary>Records many observations in one transaction (one fsync), all or none.</summary>
    public void RecordObservations(IEnumerable<JournalObservation> observations)
    {
        ArgumentNullException.ThrowIfNull(observations);
        var rows = observations as IReadOnlyCollection<JournalObservation> ?? observations.ToList();
        foreach (var o in rows)
        {
            ArgumentNullException.ThrowIfNull(o);
            ArgumentException.ThrowIfNullOrEmpty(o.Kind, nameof(observations));
            ArgumentNullException.ThrowIfNull(o.Key, nameof(observations));
            ArgumentNullException.ThrowIfNull(o.Value, nameof(observations));
        }
        if (rows.Count == 0) return;
        lock (_lock)
        {
            try
            {
                using var tx = _db.BeginTransaction();
                using var cmd = _db.CreateCommand();
                cmd.Transaction = tx;
                cmd.CommandText = "INSERT INTO observations(at, block, kind, key, value) VALUES ($at, $block, $kind, $key, $value);";
                var at = cmd.Parameters.Add("$at", SqliteType.Integer);
                var block = cmd.Parameters.Add("$block", SqliteType.Integer);
                var kind = cmd.Parameters.Add("$kind", SqliteType.Text);
                var key = cmd.Parameters.Add("$key", SqliteType.Text);
                var value = cmd.Parameters.Add("$value", SqliteType.Text);
                cmd.Prepare();
                foreach (var o in rows)
                {
                    at.Value = o.At.ToUnixTimeMilliseconds();
                    block.Value = o.Block is { } b ? checked((long)b) : DBNull.Value;
                    kind.Value = o.Kind;
                    key.Value = o.Key;
                    value.Value = o.Value;
                    cmd.ExecuteNonQuery();
                }
                tx.Commit();
            }
            catch (SqliteException ex)
            {
                throw new TxJournalException(TxJournalError.WriteFailed, $"Journal write failed: {ex.Message}", ex);
            }
        }
    }

    /// <summary>Observations of one kind, oldest first.</summary>
    public IReadOnlyList<JournalObservation> GetObservations(string kind)
    {
        ArgumentNullException.ThrowIfNull(kind);
        if (StoredSchemaVersion < 2) return [];
        return Query("SELECT at, block, kind, key, value FROM observations WHERE kind=$kind ORDER BY at, rowid;",
            p => p.AddWithValue("$kind", kind), ReadObservation);
    }

    /// <summary>How many observations of each kind the journal holds.</summary>
    public IReadOnlyDictionary<string, long> CountObservationsByKind()
    {
        if (StoredSchemaVersion < 2) return new Dictionary<string, long>();
        return Query("SELECT kind, count(*) FROM observations GROUP BY kind ORDER BY kind;", null,
            r => (Kind: r.GetString(0), Count: r.GetInt64(1))).ToDictionary(x => x.Kind, x => x.Count, StringComparer.Ordinal);
    }

    /// <summary>Every attempt of every sender, oldest first.</summary>
    public IReadOnlyList<TxAttempt> GetAllAttempts() =>
        Query("SELECT * FROM attempts ORDER BY created_at, rowid;", null, ReadAttempt);

    private static JournalObservation ReadObservation(SqliteDataReader r) => new(
        DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(0)),
        r.IsDBNull(1) ? null : checked((ulong)r.GetInt64(1)),
        r.GetString(2),
        r.GetString(3),
        r.GetString(4));
}
