// The mlnetgpt command tree (System.CommandLine) and its error handling: known errors print one clear line and exit non-zero.
using System.CommandLine;
using System.Runtime.InteropServices;
using System.Text.Json;
using MLNetGpt.Cli.Commands;
using MLNetGpt.Cli.Configuration;
using MLNetGpt.Cli.Output;
using MLNetGpt.Tokenizers;
using Tokenizer = Microsoft.ML.Tokenizers.Tokenizer;

namespace MLNetGpt.Cli;

/// <summary>Builds and runs the <c>mlnetgpt</c> command.</summary>
public static class CliApp
{
    /// <summary>
    /// Runs the command line <paramref name="args"/> writing to the given writers; returns the exit code
    /// (0 ok, 1 bad input, 2 bad pipeline/override, 130 stopped by Ctrl+C, 143 stopped by SIGTERM). When the writers are the
    /// real console, Ctrl+C and SIGTERM cancel the running command cleanly (training writes a checkpoint first; a second
    /// signal ends the process at once) and a live progress bar is shown.
    /// </summary>
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken,
        TextReader? input = null)
    {
        input ??= Console.In;
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bool console = ReferenceEquals(output, Console.Out);
        bool terminated = false;
        ConsoleCancelEventHandler? onCancel = null;
        PosixSignalRegistration? onTerminate = null;
        if (console)
        {
            onCancel = (_, e) =>
            {
                if (cts.IsCancellationRequested) return; // a second Ctrl+C ends the process at once
                e.Cancel = true;
                error.WriteLine("stopping after the current step (Ctrl+C again to abort)...");
                cts.Cancel();
            };
            Console.CancelKeyPress += onCancel;
            // SIGTERM (kill, docker stop, systemd) stops the same way as Ctrl+C: checkpoint, then exit 143.
            try
            {
                onTerminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
                {
                    if (cts.IsCancellationRequested) return; // a second signal terminates as usual
                    context.Cancel = true;
                    terminated = true;
                    error.WriteLine("terminate signal: stopping after the current step...");
                    cts.Cancel();
                });
            }
            catch (PlatformNotSupportedException) { } // no SIGTERM here: the runtime's default handling stays
        }
        try
        {
            int code = await RunCoreAsync(args, output, error, input, console, cts.Token);
            return terminated && code == ExitCodes.Cancelled ? ExitCodes.Terminated : code;
        }
        finally
        {
            if (onCancel is not null) Console.CancelKeyPress -= onCancel;
            onTerminate?.Dispose();
        }
    }

    private static async Task<int> RunCoreAsync(string[] args, TextWriter output, TextWriter error, TextReader input, bool console, CancellationToken ct)
    {
        try
        {
            var root = Build(output, error, input, console, ct);
            var config = new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null };
            var parsed = root.Parse(args);
            if (parsed.Errors.Count > 0 && parsed.Errors.All(e => CliMessages.ParseError(e.Message) is not null))
            {
                // Values of the wrong type: say what the option expects in words, not as a .NET type name.
                foreach (var e in parsed.Errors) error.WriteLine($"error: {CliMessages.ParseError(e.Message)}");
                var names = new List<string>();
                for (var r = parsed.CommandResult; r is not null && r.Command is not RootCommand; r = r.Parent as System.CommandLine.Parsing.CommandResult)
                    names.Insert(0, r.Command.Name);
                error.WriteLine($"See: mlnetgpt {string.Join(' ', names)} --help");
                return ExitCodes.Error;
            }
            return await parsed.InvokeAsync(config, ct);
        }
        catch (PipelineConfigException e) { return Fail(error, e.Message, ExitCodes.ConfigError); }
        catch (CliException e) { return Fail(error, e.Message, e.ExitCode); }
        catch (OperationCanceledException) { return Fail(error, "cancelled", ExitCodes.Cancelled); }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or InvalidDataException or ArgumentException
            or FormatException or JsonException or IOException or UnauthorizedAccessException or KeyNotFoundException or InvalidOperationException)
        {
            return Fail(error, e is ArgumentException ? CliMessages.Clean(e) : e.Message, ExitCodes.Error);
        }
    }

    private static int Fail(TextWriter error, string message, int code)
    {
        error.WriteLine($"error: {message}");
        return code;
    }

    private static RootCommand Build(TextWriter output, TextWriter error, TextReader input, bool console, CancellationToken ct)
    {
        var root = new RootCommand("MLNetGpt: train and run GPT-style language models from .NET.");

        // train
        var trainArgs = new Argument<string[]>("pipeline-and-overrides")
        {
            Description = "A pipeline file (pipelines/*.json) followed by key=value overrides, e.g. train.max_iters=500 generate.max_new_tokens=5000.",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var outOpt = new Option<string?>("--out") { Description = "Run folder (default runs/NAME-TIMESTAMP)." };
        var fromOpt = new Option<string?>("--from") { Description = "Local corpus file (skips the download); also MLNETGPT_DATA." };
        var resumeOpt = new Option<string?>("--resume") { Description = "Continue the run in this folder from its checkpoint." };
        var initOpt = new Option<string?>("--init-from")
        {
            Description = "Start from the weights of this model .zip (fine-tuning, e.g. a GPT-2 made by import-hf); the pipeline's model section may then be left out.",
        };
        var train = new Command("train", "Train a pipeline: data, tokenizer, model; writes model.zip, loss.svg, sample.txt and metrics.json.")
            { trainArgs, outOpt, fromOpt, resumeOpt, initOpt };
        train.SetAction((p, token) =>
        {
            var items = p.GetValue(trainArgs) ?? [];
            var pipelines = items.Where(a => !a.Contains('=')).ToList();
            if (pipelines.Count > 1) throw new CliException($"Expected one pipeline file, got {string.Join(", ", pipelines)} (overrides are key=value).");
            var request = new TrainRequest(pipelines.FirstOrDefault(), items.Where(a => a.Contains('=')).ToList(),
                p.GetValue(outOpt), p.GetValue(fromOpt), p.GetValue(resumeOpt), p.GetValue(initOpt));
            return TrainCommand.RunAsync(request, output, error, console && TrainingView.CanShowLive(output), token);
        });
        root.Subcommands.Add(train);

        // generate
        var modelArg = new Argument<string>("model") { Description = "A model .zip written by train." };
        var promptOpt = new Option<string?>("--prompt") { Description = "Generate after this text." };
        var inputOpt = new Option<string?>("--input") { Description = "Prompts file: .csv (with a header), .jsonl or .txt (one per line)." };
        var outputOpt = new Option<string?>("--output") { Description = "Output .jsonl ({\"prompt\",\"generated\"} per row, in input order)." };
        var columnOpt = new Option<string?>("--column") { Description = "Prompt column of the input file (default: the model's input column, Prompt, or the only text column)." };
        var maxOpt = new Option<int?>("--max-new-tokens") { Description = "Tokens to generate per prompt." };
        var tempOpt = new Option<float?>("--temperature") { Description = "Softmax temperature (0 = greedy)." };
        var topKOpt = new Option<int?>("--top-k") { Description = "Keep the k most likely tokens (0 = all)." };
        var topPOpt = new Option<float?>("--top-p") { Description = "Nucleus sampling mass (1 = off)." };
        var seedOpt = new Option<long?>("--seed") { Description = "Sampling seed; row i uses (seed, i)." };
        var batchOpt = new Option<int?>("--batch-size") { Description = "Prompts generated together." };
        var threadsOpt = new Option<int>("--threads") { Description = "CPU threads (0 = all cores)." };
        var generate = new Command("generate", "Generate text from a model for one prompt or a file of prompts (streaming, bounded memory).")
            { modelArg, promptOpt, inputOpt, outputOpt, columnOpt, maxOpt, tempOpt, topKOpt, topPOpt, seedOpt, batchOpt, threadsOpt };
        generate.SetAction(p => GenerateCommand.Run(new GenerateRequest(p.GetValue(modelArg)!, p.GetValue(promptOpt), p.GetValue(inputOpt),
            p.GetValue(outputOpt), p.GetValue(columnOpt), p.GetValue(maxOpt), p.GetValue(tempOpt), p.GetValue(topKOpt), p.GetValue(topPOpt),
            p.GetValue(seedOpt), p.GetValue(batchOpt), p.GetValue(threadsOpt)), output, error, ct));
        root.Subcommands.Add(generate);

        // eval
        var evalModel = new Argument<string>("model") { Description = "A model .zip." };
        var evalData = new Option<string?>("--data") { Description = "Text file to evaluate on (default: Tiny Shakespeare)." };
        var evalFraction = new Option<double>("--val-fraction") { Description = "Evaluate on this last fraction of the text.", DefaultValueFactory = _ => 0.1 };
        var evalWhole = new Option<bool>("--whole") { Description = "Evaluate on the whole file instead of its validation part." };
        var evalBatch = new Option<int>("--batch-size") { Description = "Windows per forward pass.", DefaultValueFactory = _ => 8 };
        var evalMax = new Option<int>("--max-batches") { Description = "Stop after this many batches (0 = all)." };
        var eval = new Command("eval", "Validation loss and perplexity of a model.") { evalModel, evalData, evalFraction, evalWhole, evalBatch, evalMax };
        eval.SetAction(p => EvalCommand.Run(p.GetValue(evalModel)!, p.GetValue(evalData), p.GetValue(evalFraction), p.GetValue(evalWhole),
            p.GetValue(evalBatch), p.GetValue(evalMax), output, ct));
        root.Subcommands.Add(eval);

        // info
        var infoModel = new Argument<string>("model") { Description = "A model .zip." };
        var info = new Command("info", "Show what a model .zip holds: steps, parameters, config, tokenizer.") { infoModel };
        info.SetAction(p => InfoCommand.Run(p.GetValue(infoModel)!, output));
        root.Subcommands.Add(info);

        // import-hf, export-hf
        var hfFolder = new Argument<string>("folder") { Description = "A Hugging Face GPT-2 folder: config.json and model.safetensors (or model.safetensors.index.json and its shards)." };
        var hfOut = new Option<string>("--out") { Description = "The model .zip to write.", Required = true };
        var hfTokenizer = new Option<string?>("--tokenizer") { Description = "gpt2 (default), another encoding name, or a tokenizer file saved by MLNetGpt." };
        var importHf = new Command("import-hf", "Import a Hugging Face GPT-2 checkpoint (gpt2, -medium, -large, -xl; F32, F16 or BF16) as a model .zip for generate, eval and train --init-from.")
            { hfFolder, hfOut, hfTokenizer };
        importHf.SetAction(p => HuggingFaceCommands.Import(p.GetValue(hfFolder)!, p.GetValue(hfOut)!, p.GetValue(hfTokenizer), output));
        root.Subcommands.Add(importHf);
        var exportModel = new Argument<string>("model") { Description = "A model .zip holding a GPT." };
        var exportOut = new Option<string>("--out") { Description = "Folder for config.json and model.safetensors.", Required = true };
        var exportHf = new Command("export-hf", "Write a model .zip's GPT as a Hugging Face GPT-2 folder (config.json + model.safetensors, F32).") { exportModel, exportOut };
        exportHf.SetAction(p => HuggingFaceCommands.Export(p.GetValue(exportModel)!, p.GetValue(exportOut)!, output));
        root.Subcommands.Add(exportHf);

        // data
        var data = new Command("data", "Fetch and prepare corpora.");
        var fetchFrom = new Option<string?>("--from") { Description = "Copy this local Tiny Shakespeare (checksum-verified) into the cache instead of downloading." };
        var fetchCache = new Option<string?>("--cache") { Description = "Cache folder (default ~/.cache/mlnetgpt)." };
        var fetch = new Command("fetch", "Download Tiny Shakespeare (SHA-256 checked) into the cache and print its path.") { fetchFrom, fetchCache };
        fetch.SetAction(p => DataCommands.Fetch(p.GetValue(fetchFrom), p.GetValue(fetchCache), output));
        data.Subcommands.Add(fetch);
        var prepInput = new Option<string?>("--input") { Description = "Corpus text file (default: Tiny Shakespeare)." };
        var prepOut = new Option<string>("--out") { Description = "Output folder for train.bin, val.bin, tokenizer.txt, meta.json.", Required = true };
        var prepKind = new Option<string>("--tokenizer") { Description = "'char', 'bpe', or a tokenizer file saved by MLNetGpt.", DefaultValueFactory = _ => "char" };
        var prepVocab = new Option<int>("--vocab-size") { Description = "BPE vocabulary size.", DefaultValueFactory = _ => 512 };
        var prepTiktoken = new Option<string?>("--tiktoken") { Description = "Use a .tiktoken rank file instead." };
        var prepEncoding = new Option<string?>("--encoding") { Description = "gpt2 or cl100k_base (with --tiktoken)." };
        var prepFraction = new Option<double>("--val-fraction") { Description = "Validation fraction (contiguous, from the end).", DefaultValueFactory = _ => 0.1 };
        var prepare = new Command("prepare", "Tokenize a corpus and write train/val token id files.") { prepInput, prepOut, prepKind, prepVocab, prepTiktoken, prepEncoding, prepFraction };
        prepare.SetAction(p =>
        {
            string? inputPath = p.GetValue(prepInput);
            Tokenizer tokenizer;
            if (p.GetValue(prepTiktoken) is { } tk) tokenizer = new TokenizerSource(tk, p.GetValue(prepEncoding), null, null).Load();
            else
            {
                string kind = p.GetValue(prepKind)!;
                string Corpus() => CorpusFile.Read(inputPath ?? CorpusFile.LocateTinyShakespeare(null, "--input")).Text;
                tokenizer = kind switch
                {
                    "char" => CharacterTokenizer.Create(Corpus()),
                    "bpe" => BpeTokenizer.Train(Corpus(), new BpeTrainerOptions { VocabularySize = p.GetValue(prepVocab) }),
                    _ => new TokenizerSource(null, null, null, kind).Load(),
                };
            }
            return DataCommands.Prepare(inputPath, tokenizer, p.GetValue(prepOut)!, p.GetValue(prepFraction), output);
        });
        data.Subcommands.Add(prepare);
        root.Subcommands.Add(data);

        // tokenizer
        var tok = new Command("tokenizer", "Train byte-level BPE tokenizers; encode and decode JSONL.");
        var tInput = new Option<string>("--input") { Description = "Training text file.", Required = true };
        var tVocab = new Option<int>("--vocab-size") { Description = "Target vocabulary size (≥ 256).", DefaultValueFactory = _ => 512 };
        var tPattern = new Option<string>("--pattern") { Description = "gpt4 (cl100k), gpt2 or none.", DefaultValueFactory = _ => "gpt4" };
        var tOutput = new Option<string>("--output") { Description = "Output file (.tiktoken for tiktoken's format, else MLNetGpt's text format).", Required = true };
        var tTrain = new Command("train", "Train a byte-level BPE tokenizer (minbpe's algorithm).") { tInput, tVocab, tPattern, tOutput };
        tTrain.SetAction(p => TokenizerCommands.Train(p.GetValue(tInput)!, p.GetValue(tVocab), p.GetValue(tPattern)!, p.GetValue(tOutput)!, output));
        tok.Subcommands.Add(tTrain);
        Command Codec(string name, string description, bool encode)
        {
            var inOpt = new Option<string?>("--input") { Description = "Input JSONL (default stdin)." };
            var outOpt2 = new Option<string?>("--output") { Description = "Output JSONL (default stdout)." };
            var tiktoken = new Option<string?>("--tiktoken") { Description = "A .tiktoken rank file." };
            var encoding = new Option<string?>("--encoding") { Description = $"{TokenizerSource.ShippedEncodings}: alone, the built-in rank table; with --tiktoken, the file's encoding (default: from the file name)." };
            var model = new Option<string?>("--model") { Description = "Use the tokenizer inside this model .zip." };
            var file = new Option<string?>("--tokenizer") { Description = "A tokenizer file saved by MLNetGpt." };
            var cmd = new Command(name, description) { inOpt, outOpt2, tiktoken, encoding, model, file };
            cmd.SetAction(p =>
            {
                var source = new TokenizerSource(p.GetValue(tiktoken), p.GetValue(encoding), p.GetValue(model), p.GetValue(file));
                return encode
                    ? TokenizerCommands.Encode(source, p.GetValue(inOpt), p.GetValue(outOpt2), input, output, error, ct)
                    : TokenizerCommands.Decode(source, p.GetValue(inOpt), p.GetValue(outOpt2), input, output, error);
            });
            return cmd;
        }
        tok.Subcommands.Add(Codec("encode", "Read {\"text\": ...} lines, write {\"ids\": [...]} lines in order (parallel).", encode: true));
        tok.Subcommands.Add(Codec("decode", "Read {\"ids\": [...]} lines, write {\"text\": ...} lines in order.", encode: false));
        root.Subcommands.Add(tok);

        // bench
        var bConfig = new Option<string[]>("--config") { Description = "nanogpt-cpu, seed-tiny, lecture, bigram (repeatable).", DefaultValueFactory = _ => ["nanogpt-cpu"], AllowMultipleArgumentsPerToken = true };
        var bIters = new Option<int>("--iters") { Description = "Training steps per config.", DefaultValueFactory = _ => 50 };
        var bThreads = new Option<int>("--threads") { Description = "CPU threads (0 = all cores)." };
        var bSample = new Option<int>("--sample-tokens") { Description = "Tokens sampled with the KV cache.", DefaultValueFactory = _ => 200 };
        var bFrom = new Option<string?>("--from") { Description = "Local Tiny Shakespeare." };
        var bench = new Command("bench", "Training and sampling throughput, one JSON line per config.") { bConfig, bIters, bThreads, bSample, bFrom };
        bench.SetAction(p => BenchCommand.Run(p.GetValue(bConfig)!, p.GetValue(bIters), p.GetValue(bThreads), p.GetValue(bSample), p.GetValue(bFrom), output, ct));
        root.Subcommands.Add(bench);

        // keys
        var keys = new Command("keys", "List every pipeline key with its type and description.");
        keys.SetAction(_ => { foreach (var line in PipelineConfigLoader.DescribeKeys()) output.WriteLine(line); return 0; });
        root.Subcommands.Add(keys);
        return root;
    }
}
