using System.Globalization;
using System.Text;
using System.Text.Json;
using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Numerics;
using Microsoft.Data.Sqlite;

namespace CrossMargin.Keeper.Execution;

/// <summary>Why the journal cannot be used.</summary>
public enum TxJournalError
{
    /// <summary>The file or its directory cannot be opened, created or written.</summary>
    Unavailable,
    /// <summary>The file is not a SQLite database or its content is inconsistent.</summary>
    Corrupt,
    /// <summary>The file was written by a newer keeper (higher schema version).</summary>
    SchemaTooNew,
    /// <summary>A write failed (disk full, I/O error, locked by another process).</summary>
    WriteFailed,
}

/// <summary>The transaction journal cannot be read or written.</summary>
public sealed class TxJournalException(TxJournalError error, string message, Exception? inner = null) : Exception(message, inner)
{
    public TxJournalError Error { get; } = error;
}

/// <summary>
/// Durable record of every intent and every signed transaction, written before anything is sent (SQLite, WAL mode).
/// By default synchronous=NORMAL: a commit is in the WAL file before the call returns, so a killed process (kill -9)
/// loses nothing; only an operating-system crash or power loss can lose the last commits, and the nonce resynchronisation
/// with the chain at start covers those. <c>fsyncEachCommit</c> (synchronous=FULL) also survives power loss at the
/// price of an fsync per commit (milliseconds on most disks, on the send path). After a crash the <see cref="JournalReconciler"/> reads it back to re-attach in-flight
/// transactions. Schema versioned with <c>PRAGMA user_version</c>. Thread-safe (one connection, serialised).
/// </summary>
public sealed partial class TxJournal : IDisposable
{
    /// <summary>The schema version this code writes.</summary>
    public const int SchemaVersion = 2;

    private readonly SqliteConnection _db;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();

    private TxJournal(SqliteConnection db, TimeProvider time, string path)
    {
        _db = db;
        _time = time;
        Path = path;
    }

    public string Path { get; }

    /// <summary>Opens (creating if needed) the journal at <paramref name="path"/> and migrates its schema.</summary>
    /// <exception cref="TxJournalException">The file cannot be used.</exception>
    public static TxJournal Open(string path, TimeProvider? timeProvider = null, bool fsyncEachCommit = false)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string full = System.IO.Path.GetFullPath(path);
        string? dir = System.IO.Path.GetDirectoryName(full);
        if (dir is not null && !Directory.Exists(dir))
            throw new TxJournalException(TxJournalError.Unavailable, $"The journal directory '{dir}' does not exist.");
        var cs = new SqliteConnectionStringBuilder { DataSource = full, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = false }.ToString();
        var db = new SqliteConnection(cs);
        try
        {
            db.Open();
            Exec(db, "PRAGMA busy_timeout=5000;");
            string mode = Scalar(db, "PRAGMA journal_mode=WAL;")?.ToString() ?? "";
            if (!mode.Equals("wal", StringComparison.OrdinalIgnoreCase))
                throw new TxJournalException(TxJournalError.Unavailable, $"The journal '{full}' cannot use WAL mode (got '{mode}').");
            Exec(db, fsyncEachCommit ? "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;" : "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;");
            Migrate(db, full);
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

    /// <summary>The schema version stored in the file.</summary>
    public int StoredSchemaVersion
    {
        get
        {
            lock (_lock) return Convert.ToInt32(Scalar(_db, "PRAGMA user_version;"), CultureInfo.InvariantCulture);
        }
    }

    private static void Migrate(SqliteConnection db, string path)
    {
        int version = Convert.ToInt32(Scalar(db, "PRAGMA user_version;"), CultureInfo.InvariantCulture);
        if (version > SchemaVersion)
            throw new TxJournalException(TxJournalError.SchemaTooNew, $"The journal '{path}' has schema version {version}; this keeper understands up to {SchemaVersion}.");
        if (version == SchemaVersion) return;
        using var tx = db.BeginTransaction();
        if (version < 1)
        {
            Exec(db, """
                CREATE TABLE intents (
                    id TEXT PRIMARY KEY,
                    kind TEXT NOT NULL,
                    targets TEXT NOT NULL,
                    expected_reward TEXT NOT NULL,
                    detected_at INTEGER NOT NULL,
                    detected_block INTEGER NOT NULL,
                    state TEXT NOT NULL,
                    reason TEXT,
                    created_at INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL
                );
                CREATE TABLE attempts (
                    hash TEXT PRIMARY KEY,
                    intent_id TEXT REFERENCES intents(id),
                    sender TEXT NOT NULL,
                    nonce INTEGER NOT NULL,
                    kind TEXT NOT NULL,
                    raw BLOB NOT NULL,
                    max_fee TEXT NOT NULL,
                    tip TEXT NOT NULL,
                    gas_limit INTEGER NOT NULL,
                    value TEXT NOT NULL,
                    state TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    sent_at INTEGER,
                    updated_at INTEGER NOT NULL,
                    sent_block INTEGER,
                    block_number INTEGER,
                    gas_used INTEGER,
                    effective_gas_price TEXT,
                    error TEXT
                );
                CREATE INDEX attempts_open ON attempts(sender, state, nonce);
                CREATE INDEX attempts_intent ON attempts(intent_id);
                CREATE INDEX intents_state ON intents(state);
                """, tx);
        }
        if (version < 2) MigrateToObservations(db, tx);
        Exec(db, $"PRAGMA user_version={SchemaVersion};", tx);
        tx.Commit();
    }

    // ------------------------------------------------------------------ intents

    /// <summary>Records a new intent (state <see cref="IntentState.Pending"/>).</summary>
    public void RecordIntent(ExecutionIntent intent)
    {
        ArgumentNullException.ThrowIfNull(intent);
        long now = Now();
        Write("INSERT INTO intents(id, kind, targets, expected_reward, detected_at, detected_block, state, reason, created_at, updated_at) " +
              "VALUES ($id, $kind, $targets, $reward, $detected, $block, $state, NULL, $now, $now);", p =>
        {
            p.AddWithValue("$id", intent.Id);
            p.AddWithValue("$kind", intent.Kind);
            p.AddWithValue("$targets", TargetsJson(intent.Targets));
            p.AddWithValue("$reward", intent.ExpectedReward.ToString());
            p.AddWithValue("$detected", intent.DetectedAt.ToUnixTimeMilliseconds());
            p.AddWithValue("$block", checked((long)intent.DetectedBlock));
            p.AddWithValue("$state", nameof(IntentState.Pending));
            p.AddWithValue("$now", now);
        });
    }

    public void UpdateIntent(string id, IntentState state, string? reason = null)
    {
        ArgumentNullException.ThrowIfNull(id);
        int n = Write("UPDATE intents SET state=$state, reason=COALESCE($reason, reason), updated_at=$now WHERE id=$id;", p =>
        {
            p.AddWithValue("$id", id);
            p.AddWithValue("$state", state.ToString());
            p.AddWithValue("$reason", (object?)reason ?? DBNull.Value);
            p.AddWithValue("$now", Now());
        });
        if (n != 1) throw new TxJournalException(TxJournalError.Corrupt, $"Intent {id} is not in the journal.");
    }

    public IntentRecord? GetIntent(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        return Query("SELECT * FROM intents WHERE id=$id;", p => p.AddWithValue("$id", id), ReadIntent).FirstOrDefault();
    }

    public IReadOnlyList<IntentRecord> GetIntents(params IntentState[] states)
    {
        string where = states.Length == 0 ? "" : " WHERE state IN (" + string.Join(',', states.Select(s => $"'{s}'")) + ")";
        return Query("SELECT * FROM intents" + where + " ORDER BY created_at, id;", null, ReadIntent);
    }

    // ------------------------------------------------------------------ attempts

    /// <summary>Records a signed transaction before it is sent.</summary>
    public void RecordAttempt(TxAttempt attempt)
    {
        ArgumentNullException.ThrowIfNull(attempt);
        long now = Now();
        Write("INSERT INTO attempts(hash, intent_id, sender, nonce, kind, raw, max_fee, tip, gas_limit, value, state, created_at, sent_at, updated_at, sent_block, block_number, gas_used, effective_gas_price, error) " +
              "VALUES ($hash, $intent, $sender, $nonce, $kind, $raw, $maxFee, $tip, $gas, $value, $state, $now, NULL, $now, $sentBlock, NULL, NULL, NULL, NULL);", p =>
        {
            p.AddWithValue("$hash", attempt.Hash.ToString());
            p.AddWithValue("$intent", (object?)attempt.IntentId ?? DBNull.Value);
            p.AddWithValue("$sender", attempt.Sender.ToLowerHex());
            p.AddWithValue("$nonce", checked((long)attempt.Nonce));
            p.AddWithValue("$kind", attempt.Kind.ToString());
            p.AddWithValue("$raw", attempt.Raw);
            p.AddWithValue("$maxFee", attempt.MaxFeePerGas.ToString());
            p.AddWithValue("$tip", attempt.MaxPriorityFeePerGas.ToString());
            p.AddWithValue("$gas", checked((long)attempt.GasLimit));
            p.AddWithValue("$value", attempt.Value.ToString());
            p.AddWithValue("$state", attempt.State.ToString());
            p.AddWithValue("$sentBlock", attempt.SentBlock is { } b ? checked((long)b) : DBNull.Value);
            p.AddWithValue("$now", now);
        });
    }

    /// <summary>A node accepted the attempt.</summary>
    public void MarkSent(Hash32 hash, ulong sentBlock)
    {
        int n = Write("UPDATE attempts SET state=$state, sent_at=COALESCE(sent_at, $now), sent_block=$block, updated_at=$now WHERE hash=$hash;", p =>
        {
            p.AddWithValue("$hash", hash.ToString());
            p.AddWithValue("$state", nameof(AttemptState.Sent));
            p.AddWithValue("$block", checked((long)sentBlock));
            p.AddWithValue("$now", Now());
        });
        if (n != 1) throw new TxJournalException(TxJournalError.Corrupt, $"Attempt {hash} is not in the journal.");
    }

    /// <summary>Sets an attempt's final (or new) state, with receipt fields when mined.</summary>
    public void UpdateAttempt(Hash32 hash, AttemptState state, ulong? blockNumber = null, ulong? gasUsed = null, UInt256? effectiveGasPrice = null, string? error = null)
    {
        int n = Write("UPDATE attempts SET state=$state, block_number=COALESCE($block, block_number), gas_used=COALESCE($gas, gas_used), " +
                      "effective_gas_price=COALESCE($price, effective_gas_price), error=COALESCE($error, error), updated_at=$now WHERE hash=$hash;", p =>
        {
            p.AddWithValue("$hash", hash.ToString());
            p.AddWithValue("$state", state.ToString());
            p.AddWithValue("$block", blockNumber is { } b ? checked((long)b) : DBNull.Value);
            p.AddWithValue("$gas", gasUsed is { } g ? checked((long)g) : DBNull.Value);
            p.AddWithValue("$price", effectiveGasPrice is { } e ? e.ToString() : DBNull.Value);
            p.AddWithValue("$error", (object?)error ?? DBNull.Value);
            p.AddWithValue("$now", Now());
        });
        if (n != 1) throw new TxJournalException(TxJournalError.Corrupt, $"Attempt {hash} is not in the journal.");
    }

    public TxAttempt? GetAttempt(Hash32 hash) =>
        Query("SELECT * FROM attempts WHERE hash=$hash;", p => p.AddWithValue("$hash", hash.ToString()), ReadAttempt).FirstOrDefault();

    /// <summary>Attempts of an intent, oldest first.</summary>
    public IReadOnlyList<TxAttempt> GetAttempts(string intentId) =>
        Query("SELECT * FROM attempts WHERE intent_id=$id ORDER BY nonce, created_at, rowid;", p => p.AddWithValue("$id", intentId), ReadAttempt);

    /// <summary>Attempts of a sender still Signed or Sent, by nonce then age.</summary>
    public IReadOnlyList<TxAttempt> GetOpenAttempts(Address sender) =>
        Query("SELECT * FROM attempts WHERE sender=$sender AND state IN ('Signed','Sent') ORDER BY nonce, created_at, rowid;",
            p => p.AddWithValue("$sender", sender.ToLowerHex()), ReadAttempt);

    /// <summary>Every attempt of a sender with the given nonce, oldest first.</summary>
    public IReadOnlyList<TxAttempt> GetAttemptsByNonce(Address sender, ulong nonce) =>
        Query("SELECT * FROM attempts WHERE sender=$sender AND nonce=$nonce ORDER BY created_at, rowid;", p =>
        {
            p.AddWithValue("$sender", sender.ToLowerHex());
            p.AddWithValue("$nonce", checked((long)nonce));
        }, ReadAttempt);

    /// <summary>Every attempt of a sender, by nonce then age.</summary>
    public IReadOnlyList<TxAttempt> GetAllAttempts(Address sender) =>
        Query("SELECT * FROM attempts WHERE sender=$sender ORDER BY nonce, created_at, rowid;",
            p => p.AddWithValue("$sender", sender.ToLowerHex()), ReadAttempt);

    // ------------------------------------------------------------------ plumbing

    private long Now() => _time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>
    /// Runs <paramref name="body"/>'s writes as one SQLite transaction (one commit for many records: the executor
    /// journals a block's transactions this way before sending them). Nested calls join the outer transaction.
    /// </summary>
    public void RunInTransaction(Action body)
    {
        ArgumentNullException.ThrowIfNull(body);
        lock (_lock)
        {
            if (_tx is not null)
            {
                body();
                return;
            }
            try
            {
                _tx = _db.BeginTransaction();
            }
            catch (SqliteException ex)
            {
                _tx = null;
                throw new TxJournalException(TxJournalError.WriteFailed, $"Journal write failed: {ex.Message}", ex);
            }
            try
            {
                body();
                _tx.Commit();
            }
            catch (SqliteException ex)
            {
                _tx.Rollback();
                throw new TxJournalException(TxJournalError.WriteFailed, $"Journal write failed: {ex.Message}", ex);
            }
            catch
            {
                _tx.Rollback();
                throw;
            }
            finally
            {
                _tx.Dispose();
                _tx = null;
            }
        }
    }

    private SqliteTransaction? _tx;

    private int Write(string sql, Action<SqliteParameterCollection> bind)
    {
        lock (_lock)
        {
            try
            {
                using var cmd = _db.CreateCommand();
                cmd.Transaction = _tx;
                cmd.CommandText = sql;
                bind(cmd.Parameters);
                return cmd.ExecuteNonQuery();
            }
            catch (SqliteException ex)
            {
                throw new TxJournalException(ex.SqliteErrorCode == 19 /* CONSTRAINT */ ? TxJournalError.Corrupt : TxJournalError.WriteFailed,
                    $"Journal write failed: {ex.Message}", ex);
            }
        }
    }

    private List<T> Query<T>(string sql, Action<SqliteParameterCollection>? bind, Func<SqliteDataReader, T> read)
    {
        lock (_lock)
        {
            try
            {
                using var cmd = _db.CreateCommand();
                cmd.Transaction = _tx;
                cmd.CommandText = sql;
                bind?.Invoke(cmd.Parameters);
                using var reader = cmd.ExecuteReader();
                var list = new List<T>();
                while (reader.Read()) list.Add(read(reader));
                return list;
            }
            catch (SqliteException ex)
            {
                throw new TxJournalException(TxJournalError.Unavailable, $"Journal read failed: {ex.Message}", ex);
            }
            catch (Exception ex) when (ex is FormatException or JsonException or HexFormatException or AddressFormatException or OverflowException or ArgumentException)
            {
                throw new TxJournalException(TxJournalError.Corrupt, $"Journal row is malformed: {ex.Message}", ex);
            }
        }
    }

    private static IntentRecord ReadIntent(SqliteDataReader r)
    {
        var intent = new ExecutionIntent(
            r.GetString(r.GetOrdinal("id")),
            r.GetString(r.GetOrdinal("kind")),
            ParseTargets(r.GetString(r.GetOrdinal("targets"))),
            UInt256.Parse(r.GetString(r.GetOrdinal("expected_reward"))),
            DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(r.GetOrdinal("detected_at"))),
            checked((ulong)r.GetInt64(r.GetOrdinal("detected_block"))));
        return new IntentRecord(intent,
            Enum.Parse<IntentState>(r.GetString(r.GetOrdinal("state"))),
            NullableString(r, "reason"),
            DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(r.GetOrdinal("created_at"))),
            DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(r.GetOrdinal("updated_at"))));
    }

    private static TxAttempt ReadAttempt(SqliteDataReader r) => new()
    {
        Hash = Hash32.Parse(r.GetString(r.GetOrdinal("hash"))),
        IntentId = NullableString(r, "intent_id"),
        Sender = Address.Parse(r.GetString(r.GetOrdinal("sender"))),
        Nonce = checked((ulong)r.GetInt64(r.GetOrdinal("nonce"))),
        Kind = Enum.Parse<AttemptKind>(r.GetString(r.GetOrdinal("kind"))),
        Raw = (byte[])r.GetValue(r.GetOrdinal("raw")),
        MaxFeePerGas = UInt256.Parse(r.GetString(r.GetOrdinal("max_fee"))),
        MaxPriorityFeePerGas = UInt256.Parse(r.GetString(r.GetOrdinal("tip"))),
        GasLimit = checked((ulong)r.GetInt64(r.GetOrdinal("gas_limit"))),
        Value = UInt256.Parse(r.GetString(r.GetOrdinal("value"))),
        State = Enum.Parse<AttemptState>(r.GetString(r.GetOrdinal("state"))),
        CreatedAt = DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(r.GetOrdinal("created_at"))),
        SentAt = NullableLong(r, "sent_at") is { } s ? DateTimeOffset.FromUnixTimeMilliseconds(s) : null,
        UpdatedAt = DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(r.GetOrdinal("updated_at"))),
        SentBlock = NullableLong(r, "sent_block") is { } sb ? checked((ulong)sb) : null,
        BlockNumber = NullableLong(r, "block_number") is { } bn ? checked((ulong)bn) : null,
        GasUsed = NullableLong(r, "gas_used") is { } gu ? checked((ulong)gu) : null,
        EffectiveGasPrice = NullableString(r, "effective_gas_price") is { } ep ? UInt256.Parse(ep) : null,
        Error = NullableString(r, "error"),
    };

    private static string? NullableString(SqliteDataReader r, string column)
    {
        int i = r.GetOrdinal(column);
        return r.IsDBNull(i) ? null : r.GetString(i);
    }

    private static long? NullableLong(SqliteDataReader r, string column)
    {
        int i = r.GetOrdinal(column);
        return r.IsDBNull(i) ? null : r.GetInt64(i);
    }

    private static string TargetsJson(IReadOnlyList<LiquidationTarget> targets)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartArray();
            foreach (var t in targets)
            {
                w.WriteStartObject();
                w.WriteString("account"u8, t.Account.ToString());
                w.WriteString("market"u8, t.MarketId.ToString(CultureInfo.InvariantCulture));
                w.WriteString("size"u8, t.Size.ToString());
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static LiquidationTarget[] ParseTargets(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.EnumerateArray().Select(e => new LiquidationTarget(
            Address.Parse(e.GetProperty("account").GetString()!),
            ulong.Parse(e.GetProperty("market").GetString()!, CultureInfo.InvariantCulture),
            UInt256.Parse(e.GetProperty("size").GetString()!))).ToArray();
    }

    private static void Exec(SqliteConnection db, string sql, SqliteTransaction? tx = null)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        cmd.Transaction = tx;
        cmd.ExecuteNonQuery();
    }

    private static object? Scalar(SqliteConnection db, string sql)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        return cmd.ExecuteScalar();
    }

    public void Dispose()
    {
        lock (_lock) _db.Dispose();
    }
}
