using System.Collections.Immutable;
using CrossMargin.Contracts.Generator;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Text;

namespace CrossMargin.Contracts.Tests;

/// <summary>Runs the generator through Roslyn's CSharpGeneratorDriver, as the compiler does.</summary>
public class GeneratorDriverTests
{
    private sealed class InMemoryText(string path, string text) : AdditionalText
    {
        public override string Path { get; } = path;

        public override SourceText GetText(CancellationToken cancellationToken = default) => SourceText.From(text);
    }

    private static string TestAbi(string name) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestAbi", name));

    private static (Compilation Output, ImmutableArray<Diagnostic> GeneratorDiagnostics, GeneratorDriverRunResult Run) RunGenerator(params AdditionalText[] files)
    {
        var references = AppDomain.CurrentDomain.GetAssemblies()
            .Where(a => !a.IsDynamic && !string.IsNullOrEmpty(a.Location))
            .Select(a => MetadataReference.CreateFromFile(a.Location))
            .Cast<MetadataReference>()
            .ToList();
        // make sure the Ethereum layer is loaded and referenced
        references.Add(MetadataReference.CreateFromFile(typeof(CrossMargin.Ethereum.Address).Assembly.Location));
        var compilation = CSharpCompilation.Create(
            "GeneratedBindings",
            [CSharpSyntaxTree.ParseText("namespace Probe; public static class P { }")],
            references,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
        GeneratorDriver driver = CSharpGeneratorDriver.Create([new ContractsGenerator().AsSourceGenerator()], files, (CSharpParseOptions)compilation.SyntaxTrees[0].Options);
        driver = driver.RunGeneratorsAndUpdateCompilation(compilation, out var output, out var diagnostics);
        return (output, diagnostics, driver.GetRunResult());
    }

    [Fact]
    public void Generates_a_binding_that_compiles_without_diagnostics()
    {
        var (output, diagnostics, run) = RunGenerator(new InMemoryText("/repo/contracts-abi/KitchenSink.json", TestAbi("contracts-abi/KitchenSink.json")));
        Assert.Empty(diagnostics);
        var source = Assert.Single(run.GeneratedTrees);
        Assert.EndsWith("KitchenSink.g.cs", source.FilePath, StringComparison.Ordinal);
        var errors = output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.True(errors.Count == 0, string.Join("\n", errors));
        string text = source.ToString();
        Assert.Contains("public sealed record Order(", text, StringComparison.Ordinal);
        Assert.Contains("public static bool TryDecodeError(", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Ignores_json_outside_contracts_abi()
    {
        var (_, diagnostics, run) = RunGenerator(new InMemoryText("/repo/other/KitchenSink.json", TestAbi("contracts-abi/KitchenSink.json")));
        Assert.Empty(diagnostics);
        Assert.Empty(run.GeneratedTrees);
    }

    [Theory]
    [InlineData("broken.json")]
    public void Reports_a_diagnostic_for_an_unsupported_type(string file)
    {
        var (_, diagnostics, run) = RunGenerator(new InMemoryText("/repo/contracts-abi/" + file, TestAbi(file)));
        var d = Assert.Single(diagnostics);
        Assert.Equal("CMG001", d.Id);
        Assert.Contains("uint7", d.GetMessage(), StringComparison.Ordinal);
        Assert.Empty(run.GeneratedTrees);
    }

    [Theory]
    [InlineData("{")]
    [InlineData("[]")]
    [InlineData("{\"abi\": 5}")]
    [InlineData("{\"abi\": [ { \"type\": \"function\", \"name\": \"f\", \"inputs\": [ { \"name\": \"a\" } ] } ]}")]
    public void Reports_a_diagnostic_for_malformed_json(string json)
    {
        var (_, diagnostics, _) = RunGenerator(new InMemoryText("/repo/contracts-abi/Bad.json", json));
        Assert.Equal("CMG001", Assert.Single(diagnostics).Id);
    }

    [Fact]
    public void Is_incremental_for_unchanged_input()
    {
        var text = new InMemoryText("/repo/contracts-abi/KitchenSink.json", TestAbi("contracts-abi/KitchenSink.json"));
        var compilation = CSharpCompilation.Create("Inc", [CSharpSyntaxTree.ParseText("class A { }")]);
        GeneratorDriver driver = CSharpGeneratorDriver.Create(
            [new ContractsGenerator().AsSourceGenerator()], [text], driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));
        driver = driver.RunGenerators(compilation);
        driver = driver.RunGenerators(compilation.AddSyntaxTrees(CSharpSyntaxTree.ParseText("class B { }")));
        var steps = driver.GetRunResult().Results[0].TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(s => s.Outputs);
        Assert.All(steps, o => Assert.True(o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, o.Reason.ToString()));
    }
}
