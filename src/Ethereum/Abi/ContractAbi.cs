using System.Text.Json;

namespace CrossMargin.Ethereum.Abi;

/// <summary>
/// A contract's JSON ABI: functions, events, errors and the constructor, with lookups by name, selector and
/// topic0. Parsed with <see cref="JsonDocument"/> (no reflection serializer). Accepts the ABI array itself or a
/// compiler artifact object with an <c>abi</c> property.
/// </summary>
public sealed class ContractAbi
{
    private readonly Dictionary<uint, AbiFunction> _functionsBySelector = [];
    private readonly Dictionary<uint, AbiError> _errorsBySelector = [];
    private readonly Dictionary<Hash32, AbiEvent> _eventsByTopic = [];

    public ContractAbi(IEnumerable<AbiFunction> functions, IEnumerable<AbiEvent> events, IEnumerable<AbiError> errors, IReadOnlyList<AbiParameter>? constructorInputs = null)
    {
        ArgumentNullException.ThrowIfNull(functions);
        ArgumentNullException.ThrowIfNull(events);
        ArgumentNullException.ThrowIfNull(errors);
        Functions = functions.ToArray();
        Events = events.ToArray();
        Errors = errors.ToArray();
        ConstructorInputs = constructorInputs?.ToArray();
        foreach (var f in Functions)
            if (!_functionsBySelector.TryAdd(f.Selector, f)) throw new AbiFormatException($"Two functions share the selector 0x{f.Selector:x8} ({f.Signature}).");
        foreach (var e in Errors)
            _errorsBySelector.TryAdd(e.Selector, e); // the same error may be declared by several inherited contracts
        foreach (var e in Events)
            if (!e.Anonymous) _eventsByTopic.TryAdd(e.Topic0, e);
    }

    public IReadOnlyList<AbiFunction> Functions { get; }

    public IReadOnlyList<AbiEvent> Events { get; }

    public IReadOnlyList<AbiError> Errors { get; }

    /// <summary>Constructor parameters, or null when the ABI declares no constructor.</summary>
    public IReadOnlyList<AbiParameter>? ConstructorInputs { get; }

    /// <summary>Parses JSON text: an ABI array or an object with an <c>abi</c> array.</summary>
    /// <exception cref="AbiFormatException">Malformed ABI.</exception>
    public static ContractAbi Parse(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 256 });
        }
        catch (JsonException e)
        {
            throw new AbiFormatException("The ABI is not valid JSON: " + e.Message, e);
        }
        using (doc) return FromJson(doc.RootElement);
    }

    /// <summary>Builds from a parsed ABI array (or an object with an <c>abi</c> array).</summary>
    public static ContractAbi FromJson(JsonElement root)
    {
        if (root.ValueKind == JsonValueKind.Object)
        {
            if (!root.TryGetProperty("abi", out root)) throw new AbiFormatException("Expected an ABI array or an object with an 'abi' array.");
        }
        if (root.ValueKind != JsonValueKind.Array) throw new AbiFormatException("Expected an ABI array.");
        var functions = new List<AbiFunction>();
        var events = new List<AbiEvent>();
        var errors = new List<AbiError>();
        AbiParameter[]? ctor = null;
        foreach (var item in root.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Object) throw new AbiFormatException("ABI entries must be objects.");
            string kind = item.TryGetProperty("type", out var k) && k.ValueKind == JsonValueKind.String ? k.GetString()! : "function";
            switch (kind)
            {
                case "function":
                    functions.Add(new AbiFunction(Name(item), Params(item, "inputs", false), Params(item, "outputs", false), Mutability(item)));
                    break;
                case "event":
                    try
                    {
                        events.Add(new AbiEvent(Name(item), Params(item, "inputs", true), item.TryGetProperty("anonymous", out var a) && a.ValueKind == JsonValueKind.True));
                    }
                    catch (ArgumentException e)
                    {
                        throw new AbiFormatException($"Invalid event '{Name(item)}': {e.Message}", e);
                    }
                    break;
                case "error":
                    errors.Add(new AbiError(Name(item), Params(item, "inputs", false)));
                    break;
                case "constructor":
                    ctor = Params(item, "inputs", false);
                    break;
                case "fallback":
                case "receive":
                    break;
                default:
                    throw new AbiFormatException($"Unknown ABI entry type '{kind}'.");
            }
        }
        return new ContractAbi(functions, events, errors, ctor);
    }

    private static string Name(JsonElement item)
    {
        if (!item.TryGetProperty("name", out var n) || n.ValueKind != JsonValueKind.String)
            throw new AbiFormatException("ABI entry needs a string 'name'.");
        string name = n.GetString()!;
        if (!AbiType.IsIdentifier(name)) throw new AbiFormatException($"Invalid ABI entry name '{name}'.");
        return name;
    }

    private static string Mutability(JsonElement item)
    {
        if (item.TryGetProperty("stateMutability", out var m) && m.ValueKind == JsonValueKind.String) return m.GetString()!;
        bool constant = item.TryGetProperty("constant", out var c) && c.ValueKind == JsonValueKind.True;
        bool payable = item.TryGetProperty("payable", out var p) && p.ValueKind == JsonValueKind.True;
        return constant ? "view" : payable ? "payable" : "nonpayable";
    }

    private static AbiParameter[] Params(JsonElement item, string property, bool allowIndexed)
    {
        if (!item.TryGetProperty(property, out var arr) || arr.ValueKind == JsonValueKind.Null) return [];
        if (arr.ValueKind != JsonValueKind.Array) throw new AbiFormatException($"'{property}' must be an array.");
        var list = new List<AbiParameter>();
        foreach (var p in arr.EnumerateArray())
        {
            var type = AbiType.FromJson(p);
            string name = p.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString()! : "";
            bool indexed = allowIndexed && p.TryGetProperty("indexed", out var ix) && ix.ValueKind == JsonValueKind.True;
            list.Add(new AbiParameter(name, type, indexed));
        }
        return list.ToArray();
    }

    /// <summary>The only function called <paramref name="name"/>; for overloads use <see cref="GetFunctionBySignature"/>.</summary>
    public AbiFunction GetFunction(string name)
    {
        AbiFunction? found = null;
        foreach (var f in Functions)
        {
            if (f.Name != name) continue;
            if (found is not null) throw new InvalidOperationException($"Function '{name}' is overloaded; look it up by signature.");
            found = f;
        }
        return found ?? throw new KeyNotFoundException($"No function '{name}'.");
    }

    public AbiFunction GetFunctionBySignature(string signature) =>
        Functions.FirstOrDefault(f => f.Signature == signature) ?? throw new KeyNotFoundException($"No function '{signature}'.");

    public AbiEvent GetEvent(string name) =>
        Events.SingleOrDefault(e => e.Name == name) ?? throw new KeyNotFoundException($"No single event '{name}'.");

    public AbiError GetError(string name) =>
        Errors.FirstOrDefault(e => e.Name == name) ?? throw new KeyNotFoundException($"No error '{name}'.");

    public bool TryGetFunction(uint selector, out AbiFunction? function) => _functionsBySelector.TryGetValue(selector, out function);

    public bool TryGetError(uint selector, out AbiError? error) => _errorsBySelector.TryGetValue(selector, out error);

    public bool TryGetEvent(Hash32 topic0, out AbiEvent? ev) => _eventsByTopic.TryGetValue(topic0, out ev);

    /// <summary>Decodes a log by its topic0 (non-anonymous events only); null when no event matches.</summary>
    public AbiEventLog? TryDecodeLog(IReadOnlyList<Hash32> topics, ReadOnlySpan<byte> data)
    {
        ArgumentNullException.ThrowIfNull(topics);
        if (topics.Count == 0 || !_eventsByTopic.TryGetValue(topics[0], out var ev)) return null;
        return ev.DecodeLog(topics, data);
    }
}
