// Build tool: copies an assembly with every type, method and field made public, for compile-time use only.
// Usage: MLNetGpt.Publicizer <input.dll> <output.dll>
// The copy is referenced by the compiler instead of the real assembly; at run time the real, signed assembly loads, and
// [IgnoresAccessChecksTo] in the consuming assembly tells the runtime to allow the access (see src/MLNetGpt/Internals).
using Mono.Cecil;

if (args.Length != 2)
{
    Console.Error.WriteLine("usage: MLNetGpt.Publicizer <input.dll> <output.dll>");
    return 2;
}
string input = Path.GetFullPath(args[0]), output = Path.GetFullPath(args[1]);
var resolver = new DefaultAssemblyResolver();
resolver.AddSearchDirectory(Path.GetDirectoryName(input)!);
using (var assembly = AssemblyDefinition.ReadAssembly(input, new ReaderParameters { AssemblyResolver = resolver }))
{
    foreach (var type in assembly.MainModule.GetTypes())
    {
        if (type.Name == "<Module>") continue;
        if (type.IsNested) type.IsNestedPublic = true;
        else type.IsPublic = true;
        foreach (var method in type.Methods)
        {
            // Explicit interface implementations ("I.M") must stay private or the copy is invalid.
            if (!method.IsPublic && (method.IsConstructor || !method.Name.Contains('.'))) method.IsPublic = true;
        }
        var events = type.Events.Select(e => e.Name).ToHashSet();
        foreach (var field in type.Fields)
        {
            // Event backing fields would clash with the event's name; compiler-generated fields stay hidden.
            if (!field.IsPublic && !events.Contains(field.Name) && !field.Name.Contains('<')) field.IsPublic = true;
        }
    }
    // Never loaded, so never verified: drop the strong-name signature flag rather than re-sign.
    assembly.MainModule.Attributes &= ~ModuleAttributes.StrongNameSigned;
    Directory.CreateDirectory(Path.GetDirectoryName(output)!);
    string temp = output + ".tmp";
    assembly.Write(temp);
    File.Move(temp, output, overwrite: true);
}
Console.WriteLine($"publicized {input} -> {output}");
return 0;
