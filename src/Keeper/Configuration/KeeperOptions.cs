using CrossMargin.Keeper.Detection;
using CrossMargin.Keeper.Monitoring;
using CrossMargin.Keeper.Planning;

namespace CrossMargin.Keeper.Configuration;

/// <summary>
/// Options of <c>crossmargin run</c>, bound from the "Keeper" section of appsettings.json, environment variables
/// (prefix CROSSMARGIN_, e.g. CROSSMARGIN_Keeper__Engine) and the command line (--Keeper:Engine=0x...). Values stay
/// text here so that validation can name each bad value; <see cref="KeeperOptionsValidator"/> turns them into
/// <see cref="KeeperSettings"/>.
/// </summary>
public sealed class KeeperOptions
{
    public const string Section = "Keeper";

    /// <summary>JSON-RPC HTTP endpoints, in priority order.</summary>
    public List<string> RpcUrls { get; set; } = [];

    /// <summary>
    /// WebSocket endpoint for newHeads (ws:// or wss://); "off" polls over HTTP. Default: the deployment's WebSocket URL
    /// when the RPC comes from a devnet deployment, else polling.
    /// </summary>
    public string? WebSocketUrl { get; set; }

    /// <summary>Expected chain id (must equal the RPC's).</summary>
    public string? ChainId { get; set; }

    /// <summary>CrossMarginEngine address.</summary>
    public string? Engine { get; set; }

    /// <summary>OracleHub address.</summary>
    public string? OracleHub { get; set; }

    /// <summary>Block the engine was deployed at (log scanning starts there).</summary>
    public string? DeploymentBlock { get; set; }

    /// <summary>A devnet deployment JSON: fills RpcUrls, ChainId, Engine, OracleHub and DeploymentBlock where not set.</summary>
    public string? Deployment { get; set; }

    /// <summary>Keystore v3 file of the keeper key.</summary>
    public string? KeystorePath { get; set; }

    /// <summary>Name of the environment variable that holds the keystore password.</summary>
    public string KeystorePasswordEnv { get; set; } = "CROSSMARGIN_KEYSTORE_PASSWORD";

    /// <summary>File that holds the keystore password (used when the variable is not set).</summary>
    public string? KeystorePasswordFile { get; set; }

    /// <summary>Development only: allow a raw private key from <see cref="RawKeyEnv"/>.</summary>
    public bool AllowRawKey { get; set; }

    /// <summary>Environment variable with a raw hex key (only with <see cref="AllowRawKey"/>).</summary>
    public string RawKeyEnv { get; set; } = "CROSSMARGIN_DEV_PRIVATE_KEY";

    /// <summary>SQLite transaction journal.</summary>
    public string JournalPath { get; set; } = "crossmargin-journal.db";

    /// <summary>Plan and simulate with eth_call; send nothing.</summary>
    public bool DryRun { get; set; }

    /// <summary>The oracle part (price gate, pusher). Off: liquidations proceed at any on-chain price.</summary>
    public bool OracleEnabled { get; set; } = true;

    /// <summary>Minimum profit per account and per batch, in USD (decimal text, e.g. "0.5").</summary>
    public string MinProfitUsd { get; set; } = "1";

    /// <summary>Oracle id (0x + 32 bytes) or symbol (hashed with keccak256) of the gas token's USD price.</summary>
    public string NativeOracle { get; set; } = "ETH/USD";

    /// <summary>Gas model and batching (MinProfit is taken from <see cref="MinProfitUsd"/>).</summary>
    public PlannerOptions Planner { get; set; } = new();

    public DetectionOptions Detection { get; set; } = new();

    /// <summary>The oracle part ("Keeper:Oracle"): sources, gate and pusher; see <see cref="OracleConfigOptions"/>.</summary>
    public OracleConfigOptions Oracle { get; set; } = new();

    /// <summary>/metrics, /healthz, /readyz and the readiness thresholds ("Keeper:Monitoring").</summary>
    public MonitoringOptions Monitoring { get; set; } = new();
}
