// The tiny Hugging Face GPT-2 checkpoints of bench/pytorch/make_gpt2_fixture.py and PyTorch's values on them, for test
// projects that cannot see the Models' safetensors reader (this one reads the reference file's F32 tensors only).
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace MLNetGpt.Testing;

internal static class Gpt2Fixture
{
    /// <summary>A checkpoint folder copied beside the tests: "f32", "f16-sharded" or "bf16".</summary>
    public static string Folder(string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", "gpt2-tiny", name);

    /// <summary>Tensor <paramref name="name"/> of reference.safetensors ("tokens", "prompt", "logits.f32", "greedy.f32", ...).</summary>
    public static float[] Reference(string name)
    {
        byte[] file = File.ReadAllBytes(Folder("reference.safetensors"));
        int headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(file);
        using var header = JsonDocument.Parse(file.AsMemory(8, headerLength));
        var tensor = header.RootElement.GetProperty(name);
        if (tensor.GetProperty("dtype").GetString() != "F32") throw new InvalidDataException($"reference tensor '{name}' is not F32");
        var offsets = tensor.GetProperty("data_offsets");
        int begin = 8 + headerLength + offsets[0].GetInt32(), end = 8 + headerLength + offsets[1].GetInt32();
        return MemoryMarshal.Cast<byte, float>(file.AsSpan(begin, end - begin)).ToArray();
    }

    /// <summary>A reference tensor of token ids (stored as floats).</summary>
    public static int[] ReferenceIds(string name) => Reference(name).Select(f => (int)f).ToArray();
}
