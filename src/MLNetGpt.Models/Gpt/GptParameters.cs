// The GPT's parameter table: GPT-2 checkpoint names, shapes stored [out,in] (PyTorch nn.Linear layout, what MatMulForward expects).
// Hugging Face GPT-2 checkpoints use Conv1D, stored [in,out]: HuggingFace/Gpt2Checkpoint.cs transposes the four linear
// weights per block (attn.c_attn, attn.c_proj, mlp.c_fc, mlp.c_proj) on import and export; the rest copies as it is.
using MLNetGpt.Tensors;

namespace MLNetGpt.Models;

/// <summary>Slices of one transformer block (weights [out,in]; biases absent when the config has no bias).</summary>
internal sealed record GptBlockSlices(
    ArenaSlice Ln1Weight, ArenaSlice? Ln1Bias,
    ArenaSlice AttnWeight, ArenaSlice? AttnBias,
    ArenaSlice AttnProjWeight, ArenaSlice? AttnProjBias,
    ArenaSlice Ln2Weight, ArenaSlice? Ln2Bias,
    ArenaSlice FcWeight, ArenaSlice? FcBias,
    ArenaSlice FcProjWeight, ArenaSlice? FcProjBias);

/// <summary>The parameter layout of a <see cref="GptConfig"/> and the GPT-2 initialization.</summary>
internal sealed class GptParameters
{
    private GptParameters(ArenaLayout layout, ArenaSlice wte, ArenaSlice wpe, GptBlockSlices[] blocks, ArenaSlice lnfWeight, ArenaSlice? lnfBias, ArenaSlice head)
    {
        Layout = layout; Wte = wte; Wpe = wpe; Blocks = blocks; LnfWeight = lnfWeight; LnfBias = lnfBias; Head = head;
    }

    public ArenaLayout Layout { get; }
    public ArenaSlice Wte { get; }
    public ArenaSlice Wpe { get; }
    public GptBlockSlices[] Blocks { get; }
    public ArenaSlice LnfWeight { get; }
    public ArenaSlice? LnfBias { get; }

    /// <summary>The LM head weight [V,C]: <see cref="Wte"/> itself when tied, else "lm_head.weight".</summary>
    public ArenaSlice Head { get; }

    /// <summary>
    /// Builds the table in GPT-2 order. Weight decay (nanoGPT's rule): every 2-D tensor (embeddings and linear weights) decays;
    /// biases and LayerNorm parameters do not.
    /// </summary>
    public static GptParameters Create(GptConfig config)
    {
        int c = config.EmbeddingSize, v = config.VocabularySize;
        // Tensors are listed in GPT-2 order, then laid out with every decaying tensor first: AdamW then runs as two calls
        // (decay, no decay) instead of one per tensor, which matters for tiny models. Names, not order, identify tensors in files.
        var specs = new List<(string Name, bool Decays, int[] Shape)>();
        void Add(string name, bool decays, params int[] shape) => specs.Add((name, decays, shape));
        void Bias(string name, int n) { if (config.Bias) Add(name, false, n); }
        Add("wte.weight", true, v, c);
        Add("wpe.weight", true, config.BlockSize, c);
        for (int l = 0; l < config.LayerCount; l++)
        {
            string p = $"h.{l}.";
            Add(p + "ln_1.weight", false, c); Bias(p + "ln_1.bias", c);
            Add(p + "attn.c_attn.weight", true, 3 * c, c); Bias(p + "attn.c_attn.bias", 3 * c);
            Add(p + "attn.c_proj.weight", true, c, c); Bias(p + "attn.c_proj.bias", c);
            Add(p + "ln_2.weight", false, c); Bias(p + "ln_2.bias", c);
            Add(p + "mlp.c_fc.weight", true, 4 * c, c); Bias(p + "mlp.c_fc.bias", 4 * c);
            Add(p + "mlp.c_proj.weight", true, c, 4 * c); Bias(p + "mlp.c_proj.bias", c);
        }
        Add("ln_f.weight", false, c);
        Bias("ln_f.bias", c);
        if (!config.TieWeights) Add("lm_head.weight", true, v, c);

        var builder = ArenaLayout.CreateBuilder();
        foreach (var spec in specs.Where(x => x.Decays).Concat(specs.Where(x => !x.Decays))) builder.Add(spec.Name, spec.Decays, spec.Shape);
        var layout = builder.Build();
        ArenaSlice? Opt(string name) => layout.Contains(name) ? layout[name] : null;
        var blocks = new GptBlockSlices[config.LayerCount];
        for (int l = 0; l < config.LayerCount; l++)
        {
            string p = $"h.{l}.";
            blocks[l] = new GptBlockSlices(
                layout[p + "ln_1.weight"], Opt(p + "ln_1.bias"), layout[p + "attn.c_attn.weight"], Opt(p + "attn.c_attn.bias"),
                layout[p + "attn.c_proj.weight"], Opt(p + "attn.c_proj.bias"), layout[p + "ln_2.weight"], Opt(p + "ln_2.bias"),
                layout[p + "mlp.c_fc.weight"], Opt(p + "mlp.c_fc.bias"), layout[p + "mlp.c_proj.weight"], Opt(p + "mlp.c_proj.bias"));
        }
        var wte = layout["wte.weight"];
        return new GptParameters(layout, wte, layout["wpe.weight"], blocks, layout["ln_f.weight"], Opt("ln_f.bias"),
            config.TieWeights ? wte : layout["lm_head.weight"]);
    }

    /// <summary>
    /// GPT-2 initialization: weights and embeddings N(0, 0.02); the two residual projections (attn.c_proj, mlp.c_proj)
    /// N(0, 0.02/√(2·n_layer)) because each block adds two branches to the residual stream; biases 0; LayerNorm weights 1.
    /// Tensors are filled in layout order from one seeded stream, so a seed fixes every value.
    /// </summary>
    public void Initialize(Arena parameters, ulong seed)
    {
        var rng = Data.SplitMixRandom.Create(seed);
        float residualStd = 0.02f / MathF.Sqrt(2f * Blocks.Length);
        foreach (var s in Layout.Slices)
        {
            var span = parameters[s];
            if (s.Name.EndsWith(".bias", StringComparison.Ordinal)) span.Clear();
            else if (s.Name.Contains("ln_", StringComparison.Ordinal)) span.Fill(1f);
            else
            {
                float std = s.Name.EndsWith("c_proj.weight", StringComparison.Ordinal) ? residualStd : 0.02f;
                for (int i = 0; i < span.Length; i++) span[i] = (float)(rng.NextGaussian() * std);
            }
        }
    }
}
