using CrossMargin.Keeper.Cli;

return await CliApp.RunAsync(args).ConfigureAwait(false);
