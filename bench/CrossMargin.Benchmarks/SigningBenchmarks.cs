using BenchmarkDotNet.Attributes;
using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Ethereum.Signing;
using CrossMargin.Ethereum.Transactions;

namespace CrossMargin.Benchmarks;

/// <summary>
/// EIP-1559 signing (signing hash + RFC 6979 sign + recovery self-check + encode + tx hash) and sender
/// recovery from raw bytes. Same transaction shape as bench/ethers/sign.cjs.
/// </summary>
[MemoryDiagnoser]
public class SigningBenchmarks
{
    // Anvil's well-known development account #0 (public test key).
    private const string AnvilDevKey0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

    private PrivateKey _key = null!;
    private UnsignedTransaction _tx = null!;
    private byte[] _raw = null!;
    private Hash32 _hash;
    private EcdsaSignature _signature;
    private ulong _nonce;

    [GlobalSetup]
    public void Setup()
    {
        _key = PrivateKey.FromHex(AnvilDevKey0);
        _tx = MakeTx(7);
        var signed = TransactionEncoder.Sign(_tx, _key);
        _raw = signed.ToArray();
        _hash = _tx.GetSigningHash();
        _signature = signed.Signature;
    }

    [GlobalCleanup]
    public void Cleanup() => _key.Dispose();

    internal static UnsignedTransaction MakeTx(ulong nonce) => UnsignedTransaction.Eip1559(
        chainId: 31337,
        nonce: nonce,
        maxPriorityFeePerGas: 1_000_000_000UL,
        maxFeePerGas: 30_000_000_000UL,
        gasLimit: 250_000,
        to: Address.Parse("0x5FbDB2315678afecb367f032d93F642f64180aa3"),
        value: UInt256.Parse("1000000000000000000"),
        data: Convert.FromHexString("a9059cbb00000000000000000000000070997970c51812dc3a010c7d01b50e0d17dc79c800000000000000000000000000000000000000000000000000000000000f4240"));

    /// <summary>Hash + sign + self-check recovery + encode + tx hash; the nonce changes so every signature is fresh.</summary>
    [Benchmark]
    public SignedTransaction SignEip1559() => TransactionEncoder.Sign(MakeTx(_nonce++), _key);

    /// <summary>Raw ECDSA sign of a fixed digest (no transaction work, no self-check).</summary>
    [Benchmark]
    public EcdsaSignature SignDigest() => _key.Sign(_hash);

    /// <summary>ecrecover of a fixed signature to an address.</summary>
    [Benchmark]
    public Address Recover() => Ecdsa.EcRecover(_hash, _signature.R, _signature.S, _signature.YParity);

    /// <summary>Strict decode of the raw transaction including sender recovery.</summary>
    [Benchmark]
    public Address DecodeAndRecover() => TransactionDecoder.Decode(_raw).Sender;
}
