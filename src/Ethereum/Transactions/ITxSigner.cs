using CrossMargin.Ethereum.Signing;

namespace CrossMargin.Ethereum.Transactions;

/// <summary>Signs transactions for one account. A local key today; a remote signer (KMS, HSM, web3signer) can implement it too.</summary>
public interface ITxSigner
{
    /// <summary>The account the signer signs for.</summary>
    Address Address { get; }

    /// <summary>Signs <paramref name="transaction"/>; the result's sender is <see cref="Address"/>.</summary>
    ValueTask<SignedTransaction> SignAsync(UnsignedTransaction transaction, CancellationToken cancellationToken = default);
}

/// <summary>An <see cref="ITxSigner"/> over an in-process <see cref="PrivateKey"/>.</summary>
public sealed class LocalTxSigner : ITxSigner, IDisposable
{
    private readonly PrivateKey _key;
    private readonly bool _ownsKey;

    /// <param name="key">The signing key.</param>
    /// <param name="ownsKey">Whether disposing the signer disposes (zeroes) the key.</param>
    public LocalTxSigner(PrivateKey key, bool ownsKey = false)
    {
        ArgumentNullException.ThrowIfNull(key);
        _key = key;
        _ownsKey = ownsKey;
    }

    public Address Address => _key.Address;

    public ValueTask<SignedTransaction> SignAsync(UnsignedTransaction transaction, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(TransactionEncoder.Sign(transaction, _key));
    }

    /// <summary>Synchronous signing for callers that know the signer is local.</summary>
    public SignedTransaction Sign(UnsignedTransaction transaction) => TransactionEncoder.Sign(transaction, _key);

    public void Dispose()
    {
        if (_ownsKey) _key.Dispose();
    }

    public override string ToString() => $"LocalTxSigner({Address})";
}
