namespace CrossMargin.Devnet;

/// <summary>Options for <see cref="AnvilProcess.StartAsync(AnvilOptions?, CancellationToken)"/>.</summary>
public sealed record AnvilOptions
{
    public const ulong DefaultChainId = 31337;

    /// <summary>The chain id (--chain-id). Default 31337.</summary>
    public ulong ChainId { get; init; } = DefaultChainId;

    /// <summary>A fixed port on 127.0.0.1; null picks a free one (and retries on a bind race).</summary>
    public int? Port { get; init; }

    /// <summary>Interval mining (--block-time); null means automine (a block per transaction).</summary>
    public TimeSpan? BlockTime { get; init; }

    /// <summary>Number of funded dev accounts (--accounts). Default 10.</summary>
    public int Accounts { get; init; } = 10;

    /// <summary>Balance of each dev account in ether (--balance). Default 10000.</summary>
    public ulong BalanceEther { get; init; } = 10_000;

    /// <summary>Contract code size limit in bytes (--code-size-limit); null keeps the EIP-170 default.</summary>
    public ulong? CodeSizeLimit { get; init; }

    /// <summary>Removes the contract code size limit (--disable-code-size-limit).</summary>
    public bool DisableCodeSizeLimit { get; init; }

    /// <summary>Block gas limit (--gas-limit); null keeps anvil's default.</summary>
    public ulong? GasLimit { get; init; }

    /// <summary>EVM hardfork (--hardfork); null keeps anvil's default.</summary>
    public string? Hardfork { get; init; }

    /// <summary>
    /// false (default): anvil runs with --silent and only its stderr is kept (for startup errors).
    /// true: anvil logs normally and its stdout and stderr are kept in <see cref="AnvilProcess.CapturedOutput"/>.
    /// </summary>
    public bool CaptureOutput { get; init; }

    /// <summary>At most this many output lines are kept (the oldest are dropped).</summary>
    public int MaxCapturedLines { get; init; } = 5_000;

    /// <summary>How long to wait for anvil to answer eth_chainId. Default 30 s.</summary>
    public TimeSpan StartupTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Further anvil arguments, appended verbatim (not --port/--host: those are managed).</summary>
    public IReadOnlyList<string> ExtraArguments { get; init; } = [];
}
