// Entry point of the mlnetgpt command: everything lives in CliApp so tests can run commands in-process.
return await MLNetGpt.Cli.CliApp.RunAsync(args, Console.Out, Console.Error, CancellationToken.None);
