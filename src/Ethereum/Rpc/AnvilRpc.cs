using System.Text.Json;
using CrossMargin.Ethereum.Numerics;

namespace CrossMargin.Ethereum.Rpc;

/// <summary>Typed helpers for anvil's test methods (devnet only), built on the generic request path.</summary>
public static class AnvilRpc
{
    private static readonly RpcResultParser<bool> IgnoreResult = static _ => true;

    /// <summary>anvil_mine: mines <paramref name="blocks"/> blocks, optionally <paramref name="intervalSeconds"/> apart.</summary>
    public static Task MineAsync(this IRpcClient rpc, ulong blocks = 1, ulong? intervalSeconds = null, CancellationToken cancellationToken = default) =>
        rpc.RequestAsync("anvil_mine", w =>
        {
            w.WriteQuantity(blocks);
            if (intervalSeconds is { } s) w.WriteQuantity(s);
        }, IgnoreResult, cancellationToken);

    /// <summary>evm_increaseTime: moves the clock forward; returns the node's total time offset in seconds.</summary>
    public static Task<ulong> IncreaseTimeAsync(this IRpcClient rpc, ulong seconds, CancellationToken cancellationToken = default) =>
        rpc.RequestAsync("evm_increaseTime", w => w.WriteQuantity(seconds), static r => r.ValueKind == JsonValueKind.Number
            ? (r.TryGetUInt64(out ulong v) ? v : throw RpcJson.Invalid("result", "expected an unsigned integer"))
            : r.ReadQuantity(), cancellationToken);

    /// <summary>evm_setNextBlockTimestamp.</summary>
    public static Task SetNextBlockTimestampAsync(this IRpcClient rpc, ulong timestamp, CancellationToken cancellationToken = default) =>
        rpc.RequestAsync("evm_setNextBlockTimestamp", w => w.WriteQuantity(timestamp), IgnoreResult, cancellationToken);

    public static Task SetBalanceAsync(this IRpcClient rpc, Address account, UInt256 balance, CancellationToken cancellationToken = default) =>
        rpc.RequestAsync("anvil_setBalance", w => { w.WriteAddress(account); w.WriteQuantity(balance); }, IgnoreResult, cancellationToken);

    /// <summary>evm_setAutomine.</summary>
    public static Task SetAutomineAsync(this IRpcClient rpc, bool enabled, CancellationToken cancellationToken = default) =>
        rpc.RequestAsync("evm_setAutomine", w => w.WriteBooleanValue(enabled), IgnoreResult, cancellationToken);

    /// <summary>evm_snapshot: returns the snapshot id for <see cref="RevertAsync"/>.</summary>
    public static Task<UInt256> SnapshotAsync(this IRpcClient rpc, CancellationToken cancellationToken = default) =>
        rpc.RequestAsync("evm_snapshot", null, static r => r.ReadUInt256(), cancellationToken);

    /// <summary>evm_revert: returns whether the snapshot existed and was restored.</summary>
    public static Task<bool> RevertAsync(this IRpcClient rpc, UInt256 snapshotId, CancellationToken cancellationToken = default) =>
        rpc.RequestAsync("evm_revert", w => w.WriteQuantity(snapshotId), static r => r.ReadBool(), cancellationToken);

    /// <summary>anvil_reorg: replaces the last <paramref name="depth"/> blocks with as many new (empty) blocks.</summary>
    public static Task ReorgAsync(this IRpcClient rpc, ulong depth, CancellationToken cancellationToken = default) =>
        rpc.RequestAsync("anvil_reorg", w =>
        {
            w.WriteNumberValue(depth);
            w.WriteStartArray();
            w.WriteEndArray();
        }, IgnoreResult, cancellationToken);

    /// <summary>anvil_rollback: removes the last <paramref name="depth"/> blocks (1 when null).</summary>
    public static Task RollbackAsync(this IRpcClient rpc, ulong? depth = null, CancellationToken cancellationToken = default) =>
        rpc.RequestAsync("anvil_rollback", w =>
        {
            if (depth is { } d) w.WriteNumberValue(d);
        }, IgnoreResult, cancellationToken);

    /// <summary>anvil_impersonateAccount.</summary>
    public static Task ImpersonateAccountAsync(this IRpcClient rpc, Address account, CancellationToken cancellationToken = default) =>
        rpc.RequestAsync("anvil_impersonateAccount", w => w.WriteAddress(account), IgnoreResult, cancellationToken);
}
