// Assembly marker for MLNetGpt.Models.
namespace MLNetGpt.Models;
