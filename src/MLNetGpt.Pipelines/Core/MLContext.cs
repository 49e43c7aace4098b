// The entry point of the API, as in ML.NET: one context holding the seed and the catalogs of components.
namespace MLNetGpt.Pipelines;

/// <summary>
/// The context every pipeline starts from: <see cref="Data"/> to load and split data, <see cref="Transforms"/> (with
/// <c>Text</c>) for tokenizers, <see cref="TextGeneration"/> for trainers and evaluation, <see cref="Model"/> to save,
/// load and serve models. The seed given here is the single source of randomness: each component derives its seed from
/// it and its position in the chain (<see cref="DeriveSeed"/>).
/// </summary>
public sealed class MLContext
{
    /// <summary>Creates a context. With a null <paramref name="seed"/> a random seed is drawn once (runs differ).</summary>
    public MLContext(int? seed = null)
    {
        Seed = seed ?? Random.Shared.Next();
        IsSeeded = seed.HasValue;
        Data = new DataOperationsCatalog(this);
        Transforms = new TransformsCatalog(this);
        Model = new ModelOperationsCatalog(this);
        TextGeneration = new TextGenerationCatalog(this);
        ComponentCatalog = new ComponentCatalog();
    }

    /// <summary>The context seed (drawn at random when none was given).</summary>
    public int Seed { get; }

    /// <summary>Whether the seed was given by the caller.</summary>
    public bool IsSeeded { get; }

    /// <summary>Loading, splitting and saving data views.</summary>
    public DataOperationsCatalog Data { get; }

    /// <summary>Column transforms, with <see cref="TransformsCatalog.Text"/> for tokenizers.</summary>
    public TransformsCatalog Transforms { get; }

    /// <summary>Saving, loading and serving models.</summary>
    public ModelOperationsCatalog Model { get; }

    /// <summary>Language model trainers and evaluation.</summary>
    public TextGenerationCatalog TextGeneration { get; }

    /// <summary>Loaders of saved components by name; register third-party transformers here.</summary>
    public ComponentCatalog ComponentCatalog { get; }

    /// <summary>
    /// The seed of the component at <paramref name="chainPosition"/>: a SplitMix64 hash of (context seed, position, stream),
    /// so adding a component elsewhere, or fitting in another order, does not change it.
    /// <paramref name="stream"/> separates independent uses inside one component (e.g. 0 for init, 1 for data order).
    /// </summary>
    public int DeriveSeed(int chainPosition, int stream = 0) => SeedMath.Derive(Seed, chainPosition, stream);
}

/// <summary>Seed derivation shared by the context and by per-row generation seeds.</summary>
public static class SeedMath
{
    /// <summary>SplitMix64 finalizer: a well-mixed 64-bit hash of <paramref name="x"/>.</summary>
    public static ulong Mix(ulong x)
    {
        x += 0x9E3779B97F4A7C15UL;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }

    /// <summary>A non-negative 31-bit seed from three integers, order-sensitive.</summary>
    public static int Derive(long a, long b, long c = 0)
    {
        ulong h = Mix((ulong)a);
        h = Mix(h ^ (ulong)b);
        h = Mix(h ^ (ulong)c);
        return (int)(h & 0x7FFF_FFFF);
    }
}
