// mlContext.TextGeneration.Trainers.Gpt: trains a GPT (nanoGPT / GPT-2 architecture) on a token id column.
using Microsoft.ML.Runtime;
using MLNetGpt.Models;

namespace MLNetGpt;

/// <summary>
/// Trains a GPT on the token id column of a Tokenize* step and returns the <see cref="TextGenerationTransformer"/> that
/// generates with it. Defaults are the nanogpt-cpu size (4 layers, 4 heads, 128 channels, block 64) with
/// <see cref="Models.Training.TrainingOptions"/>'s recipe.
/// </summary>
public sealed class GptTrainer : LanguageModelTrainerBase
{
    internal GptTrainer(IHostEnvironment env, Options options)
        : base(env, nameof(GptTrainer), options)
    {
    }

    /// <summary>GPT trainer options: the model is one <see cref="GptConfig"/> record (<see cref="Model"/>), which holds every default.</summary>
    public sealed record Options : LanguageModelTrainerOptions
    {
        /// <summary>The architecture (its vocabulary size is set from the tokenizer at Fit). Default <c>new GptConfig()</c>.</summary>
        public GptConfig Model { get; init; } = new();

        /// <inheritdoc/>
        public override int BlockSize { get => Model.BlockSize; init => Model = Model with { BlockSize = value }; }

        /// <summary>Transformer blocks (<see cref="GptConfig.LayerCount"/>).</summary>
        public int LayerCount { get => Model.LayerCount; init => Model = Model with { LayerCount = value }; }

        /// <summary>Attention heads; must divide <see cref="EmbeddingSize"/> (<see cref="GptConfig.HeadCount"/>).</summary>
        public int HeadCount { get => Model.HeadCount; init => Model = Model with { HeadCount = value }; }

        /// <summary>Channels (<see cref="GptConfig.EmbeddingSize"/>).</summary>
        public int EmbeddingSize { get => Model.EmbeddingSize; init => Model = Model with { EmbeddingSize = value }; }

        /// <summary>Dropout in training (<see cref="GptConfig.Dropout"/>).</summary>
        public float Dropout { get => Model.Dropout; init => Model = Model with { Dropout = value }; }

        /// <summary>Biases in linear layers and LayerNorms (<see cref="GptConfig.Bias"/>).</summary>
        public bool Bias { get => Model.Bias; init => Model = Model with { Bias = value }; }

        /// <summary>MLP activation (<see cref="GptConfig.Activation"/>).</summary>
        public Activation Activation { get => Model.Activation; init => Model = Model with { Activation = value }; }

        /// <summary>Share the token embedding with the output head (<see cref="GptConfig.TieWeights"/>).</summary>
        public bool TieWeights { get => Model.TieWeights; init => Model = Model with { TieWeights = value }; }

        /// <inheritdoc/>
        public override LanguageModelConfig CreateConfig(int vocabularySize) => Model with { VocabularySize = vocabularySize };
    }
}

/// <summary>Trains the bigram baseline (a V×V logit table, Karpathy's "Let's build GPT" starting point).</summary>
public sealed class BigramTrainer : LanguageModelTrainerBase
{
    internal BigramTrainer(IHostEnvironment env, Options options)
        : base(env, nameof(BigramTrainer), options)
    {
    }

    /// <summary>Bigram trainer options: the model is one <see cref="BigramConfig"/> record (<see cref="Model"/>).</summary>
    public sealed record Options : LanguageModelTrainerOptions
    {
        /// <summary>The model (its vocabulary size is set from the tokenizer at Fit). Default <c>new BigramConfig()</c>.</summary>
        public BigramConfig Model { get; init; } = new();

        /// <summary>Window length of training batches (<see cref="LanguageModelConfig.BlockSize"/>).</summary>
        public override int BlockSize { get => Model.BlockSize; init => Model = Model with { BlockSize = value }; }

        /// <inheritdoc/>
        public override LanguageModelConfig CreateConfig(int vocabularySize) => Model with { VocabularySize = vocabularySize };
    }
}
