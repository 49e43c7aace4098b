// Placeholder entry point; the benchmark is written by its issue.
System.Console.WriteLine("not yet written");
