using System;
using System.IO;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace CrossMargin.Contracts.Generator;

/// <summary>
/// Incremental generator: every AdditionalFiles item named *.json under a contracts-abi folder becomes a
/// typed binding class (see <see cref="BindingEmitter"/>).
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed class ContractsGenerator : IIncrementalGenerator
{
    private static readonly DiagnosticDescriptor BadArtifact = new(
        "CMG001",
        "Unreadable contracts-abi file",
        "Could not generate a binding from {0}: {1}",
        "CrossMargin.Contracts",
        DiagnosticSeverity.Error,
        isEnabledByDefault: true);

    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        var files = context.AdditionalTextsProvider
            .Where(static f => f.Path.EndsWith(".json", StringComparison.OrdinalIgnoreCase) && IsInContractsAbi(f.Path))
            .Select(static (f, ct) => (Path: f.Path, Text: f.GetText(ct)?.ToString()));

        context.RegisterSourceOutput(files, static (spc, file) =>
        {
            string name = Path.GetFileNameWithoutExtension(file.Path);
            try
            {
                if (file.Text is null) throw new IOException("the file could not be read");
                var artifact = ContractArtifact.Parse(file.Text, name);
                var emitter = new BindingEmitter(artifact);
                spc.AddSource(emitter.ClassName + ".g.cs", SourceText.From(emitter.Emit(), Encoding.UTF8));
            }
            catch (Exception e) when (e is MiniJson.JsonException or FormatException or IOException or InvalidOperationException)
            {
                spc.ReportDiagnostic(Diagnostic.Create(BadArtifact, Location.None, file.Path, e.Message));
            }
        });
    }

    private static bool IsInContractsAbi(string path)
    {
        string? dir = Path.GetFileName(Path.GetDirectoryName(path));
        return string.Equals(dir, "contracts-abi", StringComparison.Ordinal);
    }
}
