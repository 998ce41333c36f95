using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace CrossMargin.Ethereum.Abi;

/// <summary>Strict checks on single 32-byte ABI words.</summary>
internal static class AbiWord
{
    public const int Size = 32;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Pad32(int length) => (length + 31) & ~31;

    /// <summary>True when the first <paramref name="count"/> bytes of the word are zero.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool HighZero(ReadOnlySpan<byte> word, int count)
    {
        ref byte b = ref MemoryMarshal.GetReference(word);
        switch (count)
        {
            case 31: // bool, uint8
                return (Unsafe.ReadUnaligned<ulong>(ref b) | Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref b, 8))
                    | Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref b, 16)) | Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref b, 24))
                    | Unsafe.ReadUnaligned<ushort>(ref Unsafe.Add(ref b, 28)) | Unsafe.Add(ref b, 30)) == 0;
            case 28: // offsets, lengths, uint32
                return (Unsafe.ReadUnaligned<ulong>(ref b) | Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref b, 8))
                    | Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref b, 16)) | Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref b, 24))) == 0;
            case 24: // uint64
                return (Unsafe.ReadUnaligned<ulong>(ref b) | Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref b, 8))
                    | Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref b, 16))) == 0;
            case 12: // address
                return (Unsafe.ReadUnaligned<ulong>(ref b) | Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref b, 8))) == 0;
            case 0:
                return true;
            default:
                return word[..count].IndexOfAnyExcept((byte)0) < 0;
        }
    }

    /// <summary>True when the word is a valid uintN (bits 8..256).</summary>
    public static bool IsUInt(ReadOnlySpan<byte> word, int bits) => HighZero(word, 32 - (bits >> 3));

    /// <summary>True when the word is the sign extension of its low N bits.</summary>
    public static bool IsInt(ReadOnlySpan<byte> word, int bits)
    {
        int n = bits >> 3;
        if (n == 32) return true;
        byte fill = (word[32 - n] & 0x80) != 0 ? (byte)0xFF : (byte)0;
        return word[..(32 - n)].IndexOfAnyExcept(fill) < 0;
    }

    /// <summary>True when the bytes after the first <paramref name="length"/> are zero (bytesN).</summary>
    public static bool IsFixedBytes(ReadOnlySpan<byte> word, int length) => word[length..].IndexOfAnyExcept((byte)0) < 0;

    /// <summary>The low 4 bytes as an int when the high 28 bytes are zero and the value fits an int; else -1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long ReadSmall(ReadOnlySpan<byte> word) =>
        HighZero(word, 28) ? BinaryPrimitives.ReadUInt32BigEndian(word[28..]) : -1;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void WriteSmall(Span<byte> word, int value)
    {
        word[..28].Clear();
        BinaryPrimitives.WriteInt32BigEndian(word[28..], value);
    }
}
