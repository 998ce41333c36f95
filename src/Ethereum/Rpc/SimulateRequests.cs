using System.Text.Json;

namespace CrossMargin.Ethereum.Rpc;

/// <summary>One call's result in an <c>eth_simulateV1</c> block.</summary>
/// <param name="Success">status 1.</param>
/// <param name="GasUsed">Gas used by the call (after refunds).</param>
/// <param name="ReturnData">Return data (revert data when it failed).</param>
/// <param name="Error">The node's error message for a failed call.</param>
public sealed record SimulatedCall(bool Success, ulong GasUsed, byte[] ReturnData, string? Error)
{
    /// <summary>Revert data of a failed call (empty when none).</summary>
    public byte[] RevertData => Success ? [] : ReturnData;
}

public static class SimulateRequests
{
    /// <summary>
    /// <c>eth_simulateV1</c> with one simulated block holding <paramref name="calls"/> in order, on top of
    /// <paramref name="block"/>: each call sees the state the previous ones left, as transactions of one sender in one
    /// block would. Nonce and balance checks are off (validation false).
    /// </summary>
    public static RpcRequest<SimulatedCall[]> SimulateBlock(IReadOnlyList<CallRequest> calls, BlockTag block)
    {
        ArgumentNullException.ThrowIfNull(calls);
        int count = calls.Count;
        return new("eth_simulateV1", w =>
        {
            w.WriteStartObject();
            w.WritePropertyName("blockStateCalls"u8);
            w.WriteStartArray();
            w.WriteStartObject();
            w.WritePropertyName("calls"u8);
            w.WriteStartArray();
            foreach (CallRequest call in calls) EthRequests.WriteCall(w, call);
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteBoolean("validation"u8, false);
            w.WriteEndObject();
            block.WriteTo(w);
        }, r => Parse(r, count));
    }

    /// <summary>Parses the first simulated block's calls; their number must equal <paramref name="expected"/>.</summary>
    public static SimulatedCall[] Parse(JsonElement result, int expected)
    {
        if (result.ValueKind != JsonValueKind.Array || result.GetArrayLength() != 1)
            throw new RpcResponseFormatException(RpcFormatError.InvalidResult, "eth_simulateV1: expected an array of one simulated block.");
        JsonElement calls = result[0].Required("calls");
        if (calls.ValueKind != JsonValueKind.Array || calls.GetArrayLength() != expected)
            throw new RpcResponseFormatException(RpcFormatError.InvalidResult, $"eth_simulateV1: expected {expected} call results.");
        var list = new SimulatedCall[expected];
        int i = 0;
        foreach (JsonElement c in calls.EnumerateArray())
        {
            ulong status = c.Required("status").ReadQuantity("status");
            if (status > 1) throw new RpcResponseFormatException(RpcFormatError.InvalidResult, $"eth_simulateV1: call {i} has status {status}.");
            string? error = c.TryGetProperty("error", out JsonElement e) && e.ValueKind == JsonValueKind.Object && e.TryGetProperty("message", out JsonElement m)
                && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
            byte[] data = c.TryGetProperty("returnData", out JsonElement rd) && rd.ValueKind == JsonValueKind.String ? rd.ReadData("returnData") : [];
            if (status == 0 && data.Length == 0 && e.ValueKind == JsonValueKind.Object && e.TryGetProperty("data", out JsonElement ed) && ed.ValueKind == JsonValueKind.String)
                data = ed.ReadData("error.data");
            list[i++] = new SimulatedCall(status == 1, c.Required("gasUsed").ReadQuantity("gasUsed"), data, error);
        }
        return list;
    }
}
