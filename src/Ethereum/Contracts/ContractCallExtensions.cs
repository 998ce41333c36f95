using CrossMargin.Ethereum.Rpc;

namespace CrossMargin.Ethereum.Contracts;

/// <summary>Runs generated <see cref="ContractCall{T}"/>s through the RPC client, alone or batched.</summary>
public static class ContractCallExtensions
{
    /// <summary>The eth_call request of a contract call.</summary>
    public static CallRequest ToCallRequest<T>(this ContractCall<T> call, Address? from = null)
    {
        ArgumentNullException.ThrowIfNull(call);
        return new CallRequest { To = call.To, From = from, Data = call.Data };
    }

    /// <summary>The eth_call / eth_estimateGas request of a transaction, as <paramref name="from"/> would send it.</summary>
    public static CallRequest ToCallRequest(this ContractTx tx, Address from) =>
        new() { To = tx.To, From = from, Data = tx.Data, Value = tx.Value.IsZero ? null : tx.Value };

    /// <summary>eth_call at <paramref name="block"/>, decoded. Reverts surface as <see cref="RpcException"/>, bad return data as <see cref="Abi.AbiDecodingException"/>.</summary>
    public static async Task<T> CallAsync<T>(this IEthClient eth, ContractCall<T> call, BlockTag block = default, Address? from = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(eth);
        ArgumentNullException.ThrowIfNull(call);
        byte[] data = await eth.CallAsync(call.ToCallRequest(from), block, cancellationToken).ConfigureAwait(false);
        return call.Decode(data);
    }

    /// <summary>Adds the call to a batch; the task completes with the decoded result when the batch is sent.</summary>
    public static Task<T> Add<T>(this IRpcBatch batch, ContractCall<T> call, BlockTag block = default, Address? from = null)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(call);
        var raw = batch.Add(EthRequests.Call(call.ToCallRequest(from), block));
        return DecodeAsync(raw, call.Decode);

        static async Task<T> DecodeAsync(Task<byte[]> raw, AbiResultDecoder<T> decode) => decode(await raw.ConfigureAwait(false));
    }
}
