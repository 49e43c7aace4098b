// Assembly marker for MLNetGpt.Pipelines.
namespace MLNetGpt.Pipelines;
