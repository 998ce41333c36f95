namespace CrossMargin.Devnet;

/// <summary>Base type of the errors raised by the devnet orchestration.</summary>
public class DevnetException : Exception
{
    public DevnetException() { }

    public DevnetException(string message) : base(message) { }

    public DevnetException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>The repository root (the directory holding CrossMargin.sln) could not be found.</summary>
public sealed class RepoRootNotFoundException : DevnetException
{
    public RepoRootNotFoundException() { }

    public RepoRootNotFoundException(string message) : base(message) { }

    public RepoRootNotFoundException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>A devnet tool (anvil, forge, cast, node) is not installed where it is expected.</summary>
public sealed class DevnetToolNotFoundException : DevnetException
{
    public DevnetToolNotFoundException() { }

    public DevnetToolNotFoundException(string message) : base(message) { }

    public DevnetToolNotFoundException(string message, Exception inner) : base(message, inner) { }

    /// <summary>The path that was probed (empty when unknown).</summary>
    public string ExpectedPath { get; init; } = "";
}

/// <summary>anvil did not start or did not become ready; the message carries its captured stderr.</summary>
public sealed class AnvilStartException : DevnetException
{
    public AnvilStartException() { }

    public AnvilStartException(string message) : base(message) { }

    public AnvilStartException(string message, Exception inner) : base(message, inner) { }

    /// <summary>anvil's exit code when it exited during startup; null when it was still running (timeout).</summary>
    public int? ExitCode { get; init; }

    /// <summary>The output anvil wrote before the failure (stderr and stdout, interleaved by arrival).</summary>
    public string CapturedOutput { get; init; } = "";
}

/// <summary>A contracts-abi/&lt;Contract&gt;.json file is missing or malformed.</summary>
public sealed class ContractArtifactException : DevnetException
{
    public ContractArtifactException() { }

    public ContractArtifactException(string message) : base(message) { }

    public ContractArtifactException(string message, Exception inner) : base(message, inner) { }
}
