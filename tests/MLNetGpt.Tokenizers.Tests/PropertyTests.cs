// FsCheck properties: decode(encode(s)) == s for any string, lone surrogates read as U+FFFD; encoding allocates only its result.
using System.Text;
using FsCheck;
using FsCheck.Fluent;

namespace MLNetGpt.Tokenizers.Tests;

[TestClass]
public sealed class PropertyTests
{
    [TestMethod]
    public void DecodeOfEncodeIsTheTextWithLoneSurrogatesReplaced()
    {
        // Encoding.UTF8 round trip = the text with each lone surrogate replaced by U+FFFD (our documented policy).
        var config = Config.QuickThrowOnFailure.WithMaxTest(300).WithReplay(12345, 67891);
        foreach (var tokenizer in new[] { Encodings.Gpt2, Encodings.Cl100k })
        {
            Check.One(config, Prop.ForAll<string>(text =>
            {
                text ??= "";
                var expected = Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(text));
                return tokenizer.Decode(tokenizer.Encode(text)) == expected;
            }));
        }
    }

    [TestMethod]
    public void DecodeIntoSpanEqualsDecodeToBytes()
    {
        var ids = Encodings.Cl100k.Encode(SampleText.Text[..3000] + "😀 é");
        var buffer = new byte[Encodings.Cl100k.GetByteCount(ids)];
        Assert.AreEqual(buffer.Length, Encodings.Cl100k.DecodeToBytes(ids, buffer));
        CollectionAssert.AreEqual(Encodings.Cl100k.DecodeToBytes(ids), buffer);
        Assert.ThrowsExactly<ArgumentException>(() => Encodings.Cl100k.DecodeToBytes(ids, new byte[buffer.Length - 1]));
    }

    [TestMethod]
    public void CountingTokensDoesNotAllocatePerPiece()
    {
        var text = SampleText.Text[..200000];
        var tokenizer = Encodings.Gpt2;
        tokenizer.CountTokens(text);
        // the fewest bytes of up to five calls, 200 ms apart: a one-time runtime allocation (~8 KB while tiered compilation
        // promotes methods) can land in any one window, an allocation per piece lands in all of them
        long allocated = long.MaxValue;
        int count = 0;
        for (int attempt = 0; attempt < 5 && allocated >= 1024; attempt++)
        {
            if (attempt > 0) Thread.Sleep(200);
            var before = GC.GetAllocatedBytesForCurrentThread();
            count = tokenizer.CountTokens(text);
            allocated = Math.Min(allocated, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        Assert.IsTrue(count > 50000);
        Assert.IsTrue(allocated < 1024, $"CountTokens allocated {allocated} bytes in the best of five calls");
    }
}
