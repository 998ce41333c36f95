using System;
using System.Collections.Generic;
using System.Linq;

namespace CrossMargin.Contracts.Generator;

/// <summary>One parameter of a function, event, error or struct, as the JSON ABI describes it.</summary>
internal sealed class AbiParam : IEquatable<AbiParam>
{
    public AbiParam(string name, string type, string? internalType, bool indexed, IReadOnlyList<AbiParam> components)
    {
        Name = name;
        Type = type;
        InternalType = internalType;
        Indexed = indexed;
        Components = components;
    }

    public string Name { get; }

    /// <summary>The JSON "type": "uint256", "tuple", "tuple[]", "address[3]" ...</summary>
    public string Type { get; }

    public string? InternalType { get; }

    public bool Indexed { get; }

    public IReadOnlyList<AbiParam> Components { get; }

    /// <summary>The canonical type, with tuples written out: "(uint256,address)[]".</summary>
    public string Canonical
    {
        get
        {
            if (!Type.StartsWith("tuple", StringComparison.Ordinal)) return Type;
            return "(" + string.Join(",", Components.Select(c => c.Canonical)) + ")" + Type.Substring("tuple".Length);
        }
    }

    /// <summary>For tuples, the Solidity struct name from internalType ("struct Engine.Position[]" gives "Position").</summary>
    public string? StructName
    {
        get
        {
            if (InternalType is null || !InternalType.StartsWith("struct ", StringComparison.Ordinal)) return null;
            string n = InternalType.Substring("struct ".Length);
            int bracket = n.IndexOf('[');
            if (bracket >= 0) n = n.Substring(0, bracket);
            int dot = n.LastIndexOf('.');
            return dot >= 0 ? n.Substring(dot + 1) : n;
        }
    }

    public bool Equals(AbiParam? other) =>
        other is not null && Name == other.Name && Type == other.Type && InternalType == other.InternalType &&
        Indexed == other.Indexed && Components.SequenceEqual(other.Components);

    public override bool Equals(object? obj) => Equals(obj as AbiParam);

    public override int GetHashCode() => (Name, Type, InternalType, Indexed, Components.Count).GetHashCode();
}

internal enum AbiEntryKind
{
    Function,
    Event,
    Error,
    Constructor,
    Other,
}

/// <summary>One entry of a JSON ABI.</summary>
internal sealed class AbiEntry
{
    public AbiEntry(AbiEntryKind kind, string name, IReadOnlyList<AbiParam> inputs, IReadOnlyList<AbiParam> outputs, string stateMutability, bool anonymous)
    {
        Kind = kind;
        Name = name;
        Inputs = inputs;
        Outputs = outputs;
        StateMutability = stateMutability;
        Anonymous = anonymous;
    }

    public AbiEntryKind Kind { get; }

    public string Name { get; }

    public IReadOnlyList<AbiParam> Inputs { get; }

    public IReadOnlyList<AbiParam> Outputs { get; }

    public string StateMutability { get; }

    public bool Anonymous { get; }

    public bool IsCall => StateMutability == "view" || StateMutability == "pure";

    public string Signature => Name + "(" + string.Join(",", Inputs.Select(p => p.Canonical)) + ")";
}

/// <summary>A contracts-abi/*.json file: { contractName, abi, bytecode }.</summary>
internal sealed class ContractArtifact
{
    public ContractArtifact(string contractName, IReadOnlyList<AbiEntry> entries, string bytecode)
    {
        ContractName = contractName;
        Entries = entries;
        Bytecode = bytecode;
    }

    public string ContractName { get; }

    public IReadOnlyList<AbiEntry> Entries { get; }

    public string Bytecode { get; }

    public static ContractArtifact Parse(string json, string fallbackName)
    {
        if (MiniJson.Parse(json) is not Dictionary<string, object?> root)
            throw new MiniJson.JsonException("The root of a contracts-abi file must be an object.");
        string name = root.TryGetValue("contractName", out var n) && n is string s ? s : fallbackName;
        if (!root.TryGetValue("abi", out var abiValue) || abiValue is not List<object?> abi)
            throw new MiniJson.JsonException("Missing \"abi\" array.");
        string bytecode = root.TryGetValue("bytecode", out var b) && b is string bs ? bs : "0x";
        var entries = new List<AbiEntry>();
        foreach (var item in abi)
        {
            if (item is not Dictionary<string, object?> e) throw new MiniJson.JsonException("An ABI entry must be an object.");
            string type = Str(e, "type") ?? "function";
            var kind = type switch
            {
                "function" => AbiEntryKind.Function,
                "event" => AbiEntryKind.Event,
                "error" => AbiEntryKind.Error,
                "constructor" => AbiEntryKind.Constructor,
                _ => AbiEntryKind.Other,
            };
            entries.Add(new AbiEntry(
                kind,
                Str(e, "name") ?? "",
                Params(e, "inputs"),
                Params(e, "outputs"),
                Str(e, "stateMutability") ?? "nonpayable",
                e.TryGetValue("anonymous", out var an) && an is true));
        }
        return new ContractArtifact(name, entries, bytecode);
    }

    private static string? Str(Dictionary<string, object?> o, string key) => o.TryGetValue(key, out var v) ? v as string : null;

    private static IReadOnlyList<AbiParam> Params(Dictionary<string, object?> o, string key)
    {
        if (!o.TryGetValue(key, out var v) || v is not List<object?> list) return Array.Empty<AbiParam>();
        var result = new List<AbiParam>(list.Count);
        foreach (var item in list)
        {
            if (item is not Dictionary<string, object?> p) throw new MiniJson.JsonException("An ABI parameter must be an object.");
            result.Add(new AbiParam(
                Str(p, "name") ?? "",
                Str(p, "type") ?? throw new MiniJson.JsonException("A parameter has no type."),
                Str(p, "internalType"),
                p.TryGetValue("indexed", out var ix) && ix is true,
                Params(p, "components")));
        }
        return result;
    }
}
