// stub
namespace MLNetGpt.Models; internal static class Stub {}
