using BenchmarkDotNet.Running;

// dotnet run -c Release --project bench/CrossMargin.Benchmarks -- --filter '*'
// (see bench/README.md for the side-by-side run against ethers 6)
BenchmarkSwitcher.FromAssembly(typeof(CrossMargin.Benchmarks.RiskBenchmarks).Assembly).Run(args);
