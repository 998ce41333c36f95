using CrossMargin.Ethereum.Abi;
using CrossMargin.Ethereum.Crypto;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Ethereum.Rlp;
using CrossMargin.Ethereum.Rpc;
using CrossMargin.Ethereum.Transactions;

namespace CrossMargin.Ethereum.Contracts;

/// <summary>Fee, gas and polling policy of a <see cref="TransactionSender"/>.</summary>
public sealed record TransactionSenderOptions
{
    /// <summary>The priority fee (tip); null asks the node (eth_maxPriorityFeePerGas).</summary>
    public UInt256? PriorityFee { get; init; }

    /// <summary>Upper bound of the tip (applied to the node's suggestion too); null for none.</summary>
    public UInt256? MaxPriorityFeeCap { get; init; }

    /// <summary>Upper bound of maxFeePerGas; null for none.</summary>
    public UInt256? MaxFeeCap { get; init; }

    /// <summary>eth_estimateGas result times this (≥ 1) is the gas limit when none is given. Default 1.25.</summary>
    public double GasMultiplier { get; init; } = 1.25;

    /// <summary>The gas limit is never above this. Default 30,000,000.</summary>
    public ulong MaxGasLimit { get; init; } = 30_000_000;

    /// <summary>Default wait for a receipt. Default 60 s.</summary>
    public TimeSpan ReceiptTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>First receipt poll interval; doubles up to <see cref="MaxPollInterval"/>. Default 25 ms.</summary>
    public TimeSpan InitialPollInterval { get; init; } = TimeSpan.FromMilliseconds(25);

    /// <summary>Largest receipt poll interval. Default 1 s.</summary>
    public TimeSpan MaxPollInterval { get; init; } = TimeSpan.FromSeconds(1);
}

/// <summary>EIP-1559 fee fields chosen for a transaction.</summary>
public readonly record struct FeeQuote(UInt256 MaxFeePerGas, UInt256 MaxPriorityFeePerGas);

/// <summary>A contract created by <see cref="TransactionSender.DeployAsync"/>.</summary>
public sealed record DeployedContract(Address Address, TransactionReceipt Receipt);

/// <summary>A mined transaction that failed (receipt status 0).</summary>
public sealed class TransactionRevertedException : Exception
{
    public TransactionRevertedException(TransactionReceipt receipt, string? signature, byte[]? revertData)
        : base(BuildMessage(receipt, signature, revertData))
    {
        Receipt = receipt;
        Signature = signature;
        RevertData = revertData;
        Reason = revertData is null ? null : TryDecodeReason(revertData);
    }

    public TransactionReceipt Receipt { get; }

    /// <summary>The called function's signature, when known.</summary>
    public string? Signature { get; }

    /// <summary>Revert data from replaying the call with eth_call at the block's parent; null when the replay did not revert or gave none.</summary>
    public byte[]? RevertData { get; }

    /// <summary><see cref="RevertData"/> decoded as Error(string) / Panic / raw custom error; null without revert data.</summary>
    public RevertReason? Reason { get; }

    /// <summary>Decodes <see cref="RevertData"/> with a binding's <c>TryDecodeError</c>.</summary>
    public bool TryDecodeError(ErrorDecoder decoder, out ContractError? error)
    {
        ArgumentNullException.ThrowIfNull(decoder);
        error = null;
        return RevertData is not null && decoder(RevertData, out error);
    }

    private static RevertReason? TryDecodeReason(byte[] data)
    {
        try
        {
            return AbiRevert.Decode(data);
        }
        catch (AbiDecodingException)
        {
            return null;
        }
    }

    private static string BuildMessage(TransactionReceipt receipt, string? signature, byte[]? revertData)
    {
        ArgumentNullException.ThrowIfNull(receipt);
        string what = signature ?? "transaction";
        string data = revertData is null ? "revert data unknown" : "revert data " + Hex.Encode(revertData);
        return $"{what} {receipt.TransactionHash} reverted in block {receipt.BlockNumber} (gas used {receipt.GasUsed}; {data}).";
    }
}

/// <summary>The shape of the generated bindings' <c>TryDecodeError(revertData, out error)</c>.</summary>
public delegate bool ErrorDecoder(ReadOnlySpan<byte> revertData, out ContractError? error);

/// <summary>No receipt arrived in time.</summary>
public sealed class TransactionTimeoutException(Hash32 hash, TimeSpan timeout)
    : TimeoutException($"No receipt for {hash} within {timeout.TotalSeconds:0.###} s.")
{
    public Hash32 TransactionHash { get; } = hash;
}

/// <summary>
/// Sends EIP-1559 transactions for one signer: local nonce tracking (initialised from the pending count,
/// thread-safe), fees from the latest base fee (maxFee = 2·base + tip), gas from eth_estimateGas times a
/// multiplier unless given, receipts polled with backoff, and typed reverts. Small and general: no
/// replacement, cancellation or persistence.
/// </summary>
public sealed class TransactionSender
{
    private readonly IEthClient _eth;
    private readonly ITxSigner _signer;
    private readonly Lock _nonceLock = new();
    private ulong _nextNonce;
    private bool _nonceKnown;

    public TransactionSender(IEthClient eth, ITxSigner signer, ulong chainId, TransactionSenderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(eth);
        ArgumentNullException.ThrowIfNull(signer);
        options ??= new TransactionSenderOptions();
        if (!(options.GasMultiplier >= 1.0) || double.IsInfinity(options.GasMultiplier))
            throw new ArgumentException("GasMultiplier must be a finite number >= 1.", nameof(options));
        if (options.InitialPollInterval <= TimeSpan.Zero || options.MaxPollInterval < options.InitialPollInterval)
            throw new ArgumentException("Poll intervals must be positive and MaxPollInterval >= InitialPollInterval.", nameof(options));
        _eth = eth;
        _signer = signer;
        ChainId = chainId;
        Options = options;
    }

    public ulong ChainId { get; }

    public TransactionSenderOptions Options { get; }

    public IEthClient Eth => _eth;

    /// <summary>The sending account.</summary>
    public Address Address => _signer.Address;

    /// <summary>Takes the next nonce (the first call reads eth_getTransactionCount "pending").</summary>
    public async Task<ulong> ReserveNonceAsync(CancellationToken cancellationToken = default)
    {
        lock (_nonceLock)
        {
            if (_nonceKnown) return _nextNonce++;
        }

        ulong pending = await _eth.GetTransactionCountAsync(_signer.Address, BlockTag.Pending, cancellationToken).ConfigureAwait(false);
        lock (_nonceLock)
        {
            if (!_nonceKnown)
            {
                _nextNonce = pending;
                _nonceKnown = true;
            }

            return _nextNonce++;
        }
    }

    /// <summary>Forgets the local nonce; the next reservation re-reads it from the node.</summary>
    public void ResetNonce()
    {
        lock (_nonceLock)
        {
            _nonceKnown = false;
        }
    }

    /// <summary>maxFee = 2·latest base fee + tip (capped by the options).</summary>
    public async Task<FeeQuote> GetFeesAsync(CancellationToken cancellationToken = default)
    {
        var latest = await _eth.GetBlockByNumberAsync(BlockTag.Latest, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException("The node returned no latest block.");
        UInt256 baseFee = latest.BaseFeePerGas ?? UInt256.Zero;
        UInt256 tip = Options.PriorityFee ?? await _eth.MaxPriorityFeePerGasAsync(cancellationToken).ConfigureAwait(false);
        if (Options.MaxPriorityFeeCap is { } tipCap && tip > tipCap) tip = tipCap;
        UInt256 maxFee = UInt256.SaturatingAdd(UInt256.SaturatingAdd(baseFee, baseFee), tip);
        if (Options.MaxFeeCap is { } feeCap && maxFee > feeCap) maxFee = feeCap;
        if (tip > maxFee) tip = maxFee;
        return new FeeQuote(maxFee, tip);
    }

    /// <summary>eth_estimateGas of the call times <see cref="TransactionSenderOptions.GasMultiplier"/>, capped.</summary>
    public async Task<ulong> EstimateGasAsync(CallRequest call, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(call);
        ulong estimate = await _eth.EstimateGasAsync(call, null, cancellationToken).ConfigureAwait(false);
        double scaled = Math.Ceiling(estimate * Options.GasMultiplier);
        ulong gas = scaled >= Options.MaxGasLimit ? Options.MaxGasLimit : (ulong)scaled;
        return Math.Max(gas, estimate);
    }

    /// <summary>Signs a call of <paramref name="tx"/> with the next nonce (gas estimated unless given).</summary>
    public Task<SignedTransaction> SignAsync(ContractTx tx, ulong? gas = null, CancellationToken cancellationToken = default) =>
        SignCoreAsync(tx.To, tx.Value, tx.Data, gas, cancellationToken);

    /// <summary>Signs a contract creation carrying <paramref name="deployData"/> (bytecode + constructor arguments).</summary>
    public Task<SignedTransaction> SignDeployAsync(byte[] deployData, ulong? gas = null, UInt256 value = default, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(deployData);
        return SignCoreAsync(null, value, deployData, gas, cancellationToken);
    }

    /// <summary>Signs and broadcasts; returns the transaction hash.</summary>
    public async Task<Hash32> SendAsync(ContractTx tx, ulong? gas = null, CancellationToken cancellationToken = default)
    {
        var signed = await SignAsync(tx, gas, cancellationToken).ConfigureAwait(false);
        return await BroadcastAsync(signed, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Signs, broadcasts and waits for the receipt; a failed transaction throws <see cref="TransactionRevertedException"/>.</summary>
    public async Task<TransactionReceipt> SendAndWaitAsync(ContractTx tx, ulong? gas = null, CancellationToken cancellationToken = default)
    {
        var signed = await SignAsync(tx, gas, cancellationToken).ConfigureAwait(false);
        await BroadcastAsync(signed, cancellationToken).ConfigureAwait(false);
        var receipt = await WaitForReceiptAsync(signed.Hash, null, cancellationToken).ConfigureAwait(false);
        if (!receipt.Succeeded) throw await RevertedAsync(receipt, signed.Transaction, tx.Signature, cancellationToken).ConfigureAwait(false);
        return receipt;
    }

    /// <summary>Deploys a contract and waits for it; returns its address and the receipt.</summary>
    public async Task<DeployedContract> DeployAsync(byte[] deployData, ulong? gas = null, CancellationToken cancellationToken = default)
    {
        var signed = await SignDeployAsync(deployData, gas, default, cancellationToken).ConfigureAwait(false);
        await BroadcastAsync(signed, cancellationToken).ConfigureAwait(false);
        var receipt = await WaitForReceiptAsync(signed.Hash, null, cancellationToken).ConfigureAwait(false);
        if (!receipt.Succeeded) throw await RevertedAsync(receipt, signed.Transaction, "constructor", cancellationToken).ConfigureAwait(false);
        Address address = receipt.ContractAddress ?? ContractAddress(signed.Sender, signed.Transaction.Nonce);
        return new DeployedContract(address, receipt);
    }

    /// <summary>Broadcasts a signed transaction. A rejected broadcast resets the local nonce.</summary>
    public async Task<Hash32> BroadcastAsync(SignedTransaction signed, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(signed);
        try
        {
            return await _eth.SendRawTransactionAsync(signed.ToArray(), cancellationToken).ConfigureAwait(false);
        }
        catch (RpcException)
        {
            ResetNonce();
            throw;
        }
    }

    /// <summary>Polls eth_getTransactionReceipt with exponential backoff until the receipt exists.</summary>
    public async Task<TransactionReceipt> WaitForReceiptAsync(Hash32 hash, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        TimeSpan limit = timeout ?? Options.ReceiptTimeout;
        var started = System.Diagnostics.Stopwatch.StartNew();
        TimeSpan delay = Options.InitialPollInterval;
        while (true)
        {
            var receipt = await _eth.GetTransactionReceiptAsync(hash, cancellationToken).ConfigureAwait(false);
            if (receipt is not null) return receipt;
            TimeSpan left = limit - started.Elapsed;
            if (left <= TimeSpan.Zero) throw new TransactionTimeoutException(hash, limit);
            await Task.Delay(delay < left ? delay : left, cancellationToken).ConfigureAwait(false);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, Options.MaxPollInterval.Ticks));
        }
    }

    /// <summary>
    /// Replays a failed transaction with eth_call on the state of the parent block (the state the transaction
    /// started from, up to earlier transactions of the same block) and returns its revert data, or null.
    /// </summary>
    public async Task<byte[]?> ReplayForRevertDataAsync(UnsignedTransaction transaction, Address from, ulong blockNumber, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        var call = new CallRequest
        {
            From = from,
            To = transaction.To,
            Data = transaction.Data,
            Gas = transaction.GasLimit,
            Value = transaction.Value.IsZero ? null : transaction.Value,
        };
        try
        {
            await _eth.CallAsync(call, BlockTag.Number(blockNumber == 0 ? 0 : blockNumber - 1), cancellationToken).ConfigureAwait(false);
            return null;
        }
        catch (RpcException ex) when (ex.IsExecutionReverted || ex.RevertData is not null)
        {
            return ex.RevertData;
        }
    }

    /// <summary>The CREATE address: keccak256(rlp([sender, nonce]))[12..].</summary>
    public static Address ContractAddress(Address sender, ulong nonce)
    {
        int payload = RlpEncoding.AddressLength + RlpEncoding.LengthOf(nonce);
        Span<byte> buffer = stackalloc byte[RlpEncoding.LengthOfList(payload)];
        var w = new RlpWriter(buffer);
        w.WriteListHeader(payload);
        w.WriteAddress(sender);
        w.WriteULong(nonce);
        w.EnsureComplete();
        Span<byte> hash = stackalloc byte[32];
        Keccak256.Hash(buffer, hash);
        return new Address(hash[12..]);
    }

    private async Task<TransactionRevertedException> RevertedAsync(TransactionReceipt receipt, UnsignedTransaction transaction, string? signature, CancellationToken cancellationToken)
    {
        byte[]? data = null;
        try
        {
            data = await ReplayForRevertDataAsync(transaction, _signer.Address, receipt.BlockNumber, cancellationToken).ConfigureAwait(false);
        }
        catch (RpcClientException)
        {
            // the replay is best effort: the receipt alone still describes the failure
        }

        return new TransactionRevertedException(receipt, signature, data);
    }

    private async Task<SignedTransaction> SignCoreAsync(Address? to, UInt256 value, ReadOnlyMemory<byte> data, ulong? gas, CancellationToken cancellationToken)
    {
        var fees = await GetFeesAsync(cancellationToken).ConfigureAwait(false);
        ulong gasLimit = gas ?? await EstimateGasAsync(new CallRequest
        {
            From = _signer.Address,
            To = to,
            Data = data,
            Value = value.IsZero ? null : value,
        }, cancellationToken).ConfigureAwait(false);
        ulong nonce = await ReserveNonceAsync(cancellationToken).ConfigureAwait(false);
        var tx = UnsignedTransaction.Eip1559(ChainId, nonce, fees.MaxPriorityFeePerGas, fees.MaxFeePerGas, gasLimit, to, value, data);
        try
        {
            return await _signer.SignAsync(tx, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            ResetNonce();
            throw;
        }
    }
}
