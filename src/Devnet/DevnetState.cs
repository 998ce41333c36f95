using System.IO.Compression;
using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Rpc;

namespace CrossMargin.Devnet;

/// <summary>Saves an anvil devnet's state to a file that <c>anvil --load-state</c> starts from (blocks and logs included).</summary>
public static class DevnetState
{
    /// <summary>Writes anvil_dumpState (gzip-compressed JSON on the wire) to <paramref name="path"/> as JSON; returns the file's size.</summary>
    public static async Task<long> DumpAsync(Uri rpcUrl, string path, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(rpcUrl);
        ArgumentException.ThrowIfNullOrEmpty(path);
        // a seeded 100,000-account state is hundreds of MB even compressed: far above the client's default answer limit
        using var http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        using var rpc = new JsonRpcClient(http, new JsonRpcClientOptions { Endpoint = rpcUrl, Timeout = TimeSpan.FromMinutes(10), MaxResponseBytes = int.MaxValue });
        byte[] gz = await rpc.RequestAsync("anvil_dumpState", null, static r => r.ReadData(), cancellationToken).ConfigureAwait(false);
        string full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        string temp = full + ".tmp";
        await using (var file = File.Create(temp))
        await using (var unzip = new GZipStream(new MemoryStream(gz), CompressionMode.Decompress))
        {
            await unzip.CopyToAsync(file, cancellationToken).ConfigureAwait(false);
        }

        File.Move(temp, full, overwrite: true);
        return new FileInfo(full).Length;
    }
}
