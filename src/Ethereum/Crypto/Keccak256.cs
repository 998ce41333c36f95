using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace CrossMargin.Ethereum.Crypto;

/// <summary>
/// Keccak-256 as Ethereum uses it: the original Keccak padding (0x01 ... 0x80), not NIST SHA3-256 (0x06).
/// </summary>
public static class Keccak256
{
    public const int HashSize = 32;

    /// <summary>Bytes absorbed per permutation (1600 - 2*256 bits).</summary>
    public const int RateBytes = 136;

    private const int RateLanes = RateBytes / 8;

    /// <summary>Hashes <paramref name="input"/> into the first 32 bytes of <paramref name="output"/>.</summary>
    [SkipLocalsInit]
    public static void Hash(ReadOnlySpan<byte> input, Span<byte> output)
    {
        if (output.Length < HashSize) throw new ArgumentException("Output needs 32 bytes.", nameof(output));
        Span<ulong> state = stackalloc ulong[25];
        state.Clear();
        while (input.Length >= RateBytes)
        {
            AbsorbBlock(state, input[..RateBytes]);
            KeccakF1600.Permute(state);
            input = input[RateBytes..];
        }
        Span<byte> last = stackalloc byte[RateBytes];
        last.Clear();
        input.CopyTo(last);
        last[input.Length] ^= 0x01;
        last[RateBytes - 1] ^= 0x80;
        AbsorbBlock(state, last);
        KeccakF1600.Permute(state);
        Squeeze(state, output);
    }

    /// <summary>Hashes <paramref name="input"/>.</summary>
    public static Hash32 Compute(ReadOnlySpan<byte> input)
    {
        Span<byte> h = stackalloc byte[HashSize];
        Hash(input, h);
        return new Hash32(h);
    }

    /// <summary>Hashes the UTF-8 bytes of <paramref name="text"/> (function and event signatures).</summary>
    public static Hash32 ComputeUtf8(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        int max = System.Text.Encoding.UTF8.GetMaxByteCount(text.Length);
        byte[]? rented = null;
        Span<byte> buf = max <= 512 ? stackalloc byte[max] : (rented = System.Buffers.ArrayPool<byte>.Shared.Rent(max));
        try
        {
            int n = System.Text.Encoding.UTF8.GetBytes(text, buf);
            return Compute(buf[..n]);
        }
        finally
        {
            if (rented is not null) System.Buffers.ArrayPool<byte>.Shared.Return(rented);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void AbsorbBlock(Span<ulong> state, ReadOnlySpan<byte> block)
    {
        if (BitConverter.IsLittleEndian)
        {
            ReadOnlySpan<ulong> lanes = MemoryMarshal.Cast<byte, ulong>(block[..RateBytes]);
            for (int i = 0; i < RateLanes; i++) state[i] ^= lanes[i];
        }
        else
        {
            for (int i = 0; i < RateLanes; i++) state[i] ^= BinaryPrimitives.ReadUInt64LittleEndian(block[(i * 8)..]);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Squeeze(ReadOnlySpan<ulong> state, Span<byte> output)
    {
        for (int i = 0; i < 4; i++) BinaryPrimitives.WriteUInt64LittleEndian(output[(i * 8)..], state[i]);
    }
}

/// <summary>
/// Incremental Keccak-256 for data that arrives in pieces (e.g. hashing a prefix and a payload
/// without concatenating them). Not thread-safe; a value type meant to live on the stack.
/// </summary>
public struct Keccak256Hasher
{
    private State _state;
    private Block _buffer;
    private int _buffered;

    [InlineArray(25)]
    private struct State
    {
        private ulong _lane;
    }

    [InlineArray(Keccak256.RateBytes)]
    private struct Block
    {
        private byte _b;
    }

    public void Update(ReadOnlySpan<byte> data)
    {
        Span<ulong> state = _state;
        Span<byte> buffer = _buffer;
        if (_buffered > 0)
        {
            int take = Math.Min(Keccak256.RateBytes - _buffered, data.Length);
            data[..take].CopyTo(buffer[_buffered..]);
            _buffered += take;
            data = data[take..];
            if (_buffered < Keccak256.RateBytes) return;
            Keccak256.AbsorbBlock(state, buffer);
            KeccakF1600.Permute(state);
            _buffered = 0;
        }
        while (data.Length >= Keccak256.RateBytes)
        {
            Keccak256.AbsorbBlock(state, data[..Keccak256.RateBytes]);
            KeccakF1600.Permute(state);
            data = data[Keccak256.RateBytes..];
        }
        data.CopyTo(buffer);
        _buffered = data.Length;
    }

    /// <summary>Finishes the hash into <paramref name="output"/> (32 bytes) and resets the hasher.</summary>
    public void Finish(Span<byte> output)
    {
        if (output.Length < Keccak256.HashSize) throw new ArgumentException("Output needs 32 bytes.", nameof(output));
        Span<ulong> state = _state;
        Span<byte> buffer = _buffer;
        buffer[_buffered..].Clear();
        buffer[_buffered] ^= 0x01;
        buffer[Keccak256.RateBytes - 1] ^= 0x80;
        Keccak256.AbsorbBlock(state, buffer);
        KeccakF1600.Permute(state);
        Keccak256.Squeeze(state, output);
        this = default;
    }

    public Hash32 Finish()
    {
        Span<byte> h = stackalloc byte[Keccak256.HashSize];
        Finish(h);
        return new Hash32(h);
    }
}
