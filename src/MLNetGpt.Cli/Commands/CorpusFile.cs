// Corpus files for the commands: located (with the offline hint naming the command's own option), strict UTF-8, fingerprinted.
using System.Buffers;
using System.Security.Cryptography;
using System.Text.Unicode;
using MLNetGpt.Models.Data;

namespace MLNetGpt.Cli.Commands;

/// <summary>A corpus file whose bytes were read once: its full path, size, SHA-256 and text (decoded strictly).</summary>
/// <param name="Path">Full path.</param>
/// <param name="Bytes">Size in bytes.</param>
/// <param name="Sha256">SHA-256 of the bytes, lower-case hex.</param>
/// <param name="Text">The text; invalid UTF-8 was refused, never replaced by U+FFFD.</param>
public sealed record CorpusFile(string Path, long Bytes, string Sha256, string Text)
{
    /// <summary>Reads <paramref name="path"/>; a missing file or invalid UTF-8 is a <see cref="CliException"/> naming the byte offset.</summary>
    public static CorpusFile Read(string path)
    {
        if (!File.Exists(path)) throw new CliException($"Data file '{path}' does not exist.");
        byte[] bytes = File.ReadAllBytes(path);
        string text = DecodeStrict(bytes, path);
        return new CorpusFile(System.IO.Path.GetFullPath(path), bytes.Length, Convert.ToHexStringLower(SHA256.HashData(bytes)), text);
    }

    /// <summary>"1,115,394 bytes with SHA-256 86c4e6aa9db7c042" (the first 16 digits) for messages.</summary>
    public string Describe() => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{Bytes:N0} bytes with SHA-256 {Sha256[..16]}");

    /// <summary>The UTF-8 text of <paramref name="bytes"/>; invalid UTF-8 is a <see cref="CliException"/> naming the offset and byte.</summary>
    public static string DecodeStrict(ReadOnlySpan<byte> bytes, string path)
    {
        char[] chars = ArrayPool<char>.Shared.Rent(Math.Max(1, bytes.Length));
        try
        {
            var status = Utf8.ToUtf16(bytes, chars, out int read, out int written, replaceInvalidSequences: false);
            if (status != OperationStatus.Done)
            {
                string what = read < bytes.Length ? $"byte 0x{bytes[read]:X2}" : "the end of the file";
                throw new CliException(
                    $"'{path}' is not valid UTF-8: {what} at byte offset {read} {(status == OperationStatus.NeedMoreData ? "ends a multi-byte sequence too early" : "cannot start or continue a character")}. " +
                    "Convert the file to UTF-8 (for example with iconv); nothing was written.");
            }
            return new string(chars, 0, written);
        }
        finally
        {
            ArrayPool<char>.Shared.Return(chars);
        }
    }

    /// <summary>
    /// Tiny Shakespeare as <c>train</c>, <c>eval</c> and <c>data</c> find it: <paramref name="path"/>, MLNETGPT_DATA, the
    /// verified cache, or a download. Offline or on a bad checksum, the error says to pass a local copy with
    /// <paramref name="option"/> (the command's own option) or MLNETGPT_DATA.
    /// </summary>
    public static string LocateTinyShakespeare(string? path, string option, string? cacheDirectory = null, HttpClient? httpClient = null)
    {
        try
        {
            return TinyShakespeare.Locate(path, cacheDirectory, httpClient);
        }
        catch (FileNotFoundException e)
        {
            throw new CliException(e.Message);
        }
        catch (IOException e)
        {
            throw new CliException(
                $"Could not download Tiny Shakespeare from {TinyShakespeare.Url} ({e.InnerException?.Message ?? e.Message}). " +
                $"Offline, pass a local copy with {option} PATH or set {TinyShakespeare.EnvironmentVariable}=PATH.");
        }
        catch (InvalidDataException e)
        {
            string message = e.Message.Replace("a path argument", $"{option} PATH", StringComparison.Ordinal);
            throw new CliException(message.Contains(option, StringComparison.Ordinal) ? message : $"{message} Or pass a local copy with {option} PATH.");
        }
    }
}
