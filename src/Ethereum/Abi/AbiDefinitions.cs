using System.Buffers.Binary;
using CrossMargin.Ethereum.Crypto;

namespace CrossMargin.Ethereum.Abi;

/// <summary>A named parameter of a function, event or error.</summary>
public sealed class AbiParameter
{
    public AbiParameter(string name, AbiType type, bool indexed = false)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(type);
        Name = name;
        Type = type;
        Indexed = indexed;
    }

    /// <summary>Parameter name; may be empty.</summary>
    public string Name { get; }

    public AbiType Type { get; }

    /// <summary>Event parameters only: stored in a topic.</summary>
    public bool Indexed { get; }

    public override string ToString() => Indexed ? $"{Type} indexed {Name}" : $"{Type} {Name}".TrimEnd();

    internal static AbiType[] Types(IReadOnlyList<AbiParameter> ps)
    {
        var t = new AbiType[ps.Count];
        for (int i = 0; i < t.Length; i++) t[i] = ps[i].Type;
        return t;
    }

    internal static AbiParameter[] Unnamed(AbiType[] types)
    {
        var p = new AbiParameter[types.Length];
        for (int i = 0; i < p.Length; i++) p[i] = new AbiParameter("", types[i]);
        return p;
    }

    internal static uint Selector(string signature)
    {
        Span<byte> h = stackalloc byte[32];
        Keccak256.ComputeUtf8(signature).CopyTo(h);
        return BinaryPrimitives.ReadUInt32BigEndian(h);
    }
}

/// <summary>A contract function: canonical signature, 4-byte selector, call encoding and result decoding.</summary>
public sealed class AbiFunction
{
    private readonly AbiType[] _inputTypes;
    private readonly AbiType[] _outputTypes;

    public AbiFunction(string name, IReadOnlyList<AbiParameter> inputs, IReadOnlyList<AbiParameter>? outputs = null, string stateMutability = "nonpayable")
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(inputs);
        Name = name;
        Inputs = inputs.ToArray();
        Outputs = (outputs ?? []).ToArray();
        StateMutability = stateMutability;
        _inputTypes = AbiParameter.Types(Inputs);
        _outputTypes = AbiParameter.Types(Outputs);
        Signature = AbiType.Signature(name, _inputTypes);
        Selector = AbiParameter.Selector(Signature);
    }

    /// <summary>From a canonical signature such as <c>transfer(address,uint256)</c> (no outputs).</summary>
    public static AbiFunction Parse(string signature)
    {
        var (name, types) = AbiType.ParseSignature(signature);
        return new AbiFunction(name, AbiParameter.Unnamed(types));
    }

    public string Name { get; }

    public IReadOnlyList<AbiParameter> Inputs { get; }

    public IReadOnlyList<AbiParameter> Outputs { get; }

    public IReadOnlyList<AbiType> InputTypes => _inputTypes;

    public IReadOnlyList<AbiType> OutputTypes => _outputTypes;

    /// <summary><c>pure</c>, <c>view</c>, <c>nonpayable</c> or <c>payable</c>.</summary>
    public string StateMutability { get; }

    /// <summary>Canonical signature, e.g. <c>transfer(address,uint256)</c>.</summary>
    public string Signature { get; }

    /// <summary>First 4 bytes of keccak256(signature), big-endian.</summary>
    public uint Selector { get; }

    /// <summary>Selector followed by the encoded arguments, one value per input.</summary>
    /// <remarks>For a single array argument pass <c>[array]</c>: a lone <c>object?[]</c> binds to the params array itself.</remarks>
    public byte[] EncodeCall(params object?[] arguments) => AbiEncoder.EncodeCall(Selector, _inputTypes, arguments);

    /// <summary>Checks the selector and decodes the arguments of calldata.</summary>
    public object?[] DecodeCall(ReadOnlySpan<byte> calldata) => AbiDecoder.DecodeCall(Selector, _inputTypes, calldata);

    /// <summary>Decodes return data.</summary>
    public object?[] DecodeOutput(ReadOnlySpan<byte> returnData) => AbiDecoder.Decode(_outputTypes, returnData);

    /// <summary>Encodes return values (for tests and mocks).</summary>
    public byte[] EncodeOutput(params object?[] values) => AbiEncoder.Encode(_outputTypes, values);

    public override string ToString() => Signature;
}

/// <summary>A custom error: <c>error Name(args)</c>, selected like a function.</summary>
public sealed class AbiError
{
    private readonly AbiType[] _types;

    public AbiError(string name, IReadOnlyList<AbiParameter> inputs)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(inputs);
        Name = name;
        Inputs = inputs.ToArray();
        _types = AbiParameter.Types(Inputs);
        Signature = AbiType.Signature(name, _types);
        Selector = AbiParameter.Selector(Signature);
    }

    public static AbiError Parse(string signature)
    {
        var (name, types) = AbiType.ParseSignature(signature);
        return new AbiError(name, AbiParameter.Unnamed(types));
    }

    public string Name { get; }

    public IReadOnlyList<AbiParameter> Inputs { get; }

    public IReadOnlyList<AbiType> InputTypes => _types;

    public string Signature { get; }

    public uint Selector { get; }

    /// <summary>Selector followed by the encoded arguments (revert data).</summary>
    public byte[] Encode(params object?[] arguments) => AbiEncoder.EncodeCall(Selector, _types, arguments);

    /// <summary>Checks the selector and decodes the arguments.</summary>
    public object?[] Decode(ReadOnlySpan<byte> revertData) => AbiDecoder.DecodeCall(Selector, _types, revertData);

    public override string ToString() => Signature;
}

/// <summary>A decoded event log: values in declaration order (indexed dynamic values as their topic hash).</summary>
public sealed class AbiEventLog
{
    internal AbiEventLog(AbiEvent ev, object?[] values)
    {
        Event = ev;
        Values = values;
    }

    public AbiEvent Event { get; }

    /// <summary>One value per event input, in declaration order. Indexed bytes, string, arrays and tuples are <see cref="Hash32"/>.</summary>
    public IReadOnlyList<object?> Values { get; }

    /// <summary>The value of the input named <paramref name="name"/>.</summary>
    public object? this[string name]
    {
        get
        {
            for (int i = 0; i < Event.Inputs.Count; i++)
                if (Event.Inputs[i].Name == name) return Values[i];
            throw new KeyNotFoundException($"Event {Event.Name} has no input '{name}'.");
        }
    }
}

/// <summary>A contract event: signature, topic0, and strict log decoding.</summary>
public sealed class AbiEvent
{
    private readonly AbiType[] _dataTypes;
    private readonly int _indexedCount;

    public AbiEvent(string name, IReadOnlyList<AbiParameter> inputs, bool anonymous = false)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(inputs);
        Name = name;
        Inputs = inputs.ToArray();
        Anonymous = anonymous;
        Signature = AbiType.Signature(name, AbiParameter.Types(Inputs));
        Topic0 = Keccak256.ComputeUtf8(Signature);
        _indexedCount = Inputs.Count(p => p.Indexed);
        int maxIndexed = anonymous ? 4 : 3;
        if (_indexedCount > maxIndexed) throw new ArgumentException($"An {(anonymous ? "anonymous " : "")}event has at most {maxIndexed} indexed inputs.", nameof(inputs));
        _dataTypes = Inputs.Where(p => !p.Indexed).Select(p => p.Type).ToArray();
    }

    public string Name { get; }

    public IReadOnlyList<AbiParameter> Inputs { get; }

    public bool Anonymous { get; }

    public string Signature { get; }

    /// <summary>keccak256(signature); the first topic of non-anonymous logs.</summary>
    public Hash32 Topic0 { get; }

    /// <summary>True for indexed types stored as a keccak hash in their topic (bytes, string, arrays, tuples).</summary>
    public static bool IsHashedWhenIndexed(AbiType type)
    {
        ArgumentNullException.ThrowIfNull(type);
        return type.Kind is AbiTypeKind.Bytes or AbiTypeKind.String or AbiTypeKind.Array or AbiTypeKind.FixedArray or AbiTypeKind.Tuple;
    }

    /// <summary>
    /// Decodes a log. Checks the topic count and (unless anonymous) topic0; indexed value types are decoded
    /// strictly from their topics, indexed reference types are returned as the topic <see cref="Hash32"/>;
    /// the rest is decoded from <paramref name="data"/>.
    /// </summary>
    public AbiEventLog DecodeLog(IReadOnlyList<Hash32> topics, ReadOnlySpan<byte> data)
    {
        ArgumentNullException.ThrowIfNull(topics);
        int first = Anonymous ? 0 : 1;
        if (topics.Count != first + _indexedCount)
            throw new AbiDecodingException(AbiDecodingError.Mismatch, $"Event {Name} expects {first + _indexedCount} topics, got {topics.Count}");
        if (!Anonymous && topics[0] != Topic0)
            throw new AbiDecodingException(AbiDecodingError.Mismatch, $"Topic0 {topics[0]} is not {Name}'s {Topic0}");
        var dataValues = AbiDecoder.Decode(_dataTypes, data);
        var values = new object?[Inputs.Count];
        int t = first, d = 0;
        Span<byte> word = stackalloc byte[32];
        for (int i = 0; i < values.Length; i++)
        {
            var p = Inputs[i];
            if (!p.Indexed)
            {
                values[i] = dataValues[d++];
                continue;
            }
            var topic = topics[t++];
            if (IsHashedWhenIndexed(p.Type))
            {
                values[i] = topic;
            }
            else
            {
                topic.CopyTo(word);
                var r = new AbiReader(word, 32);
                values[i] = AbiDecoder.Read(ref r, p.Type);
            }
        }
        return new AbiEventLog(this, values);
    }

    public override string ToString() => Signature;
}
