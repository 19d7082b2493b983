using System.Text.RegularExpressions;

namespace BulkMail.Tests.Infrastructure;

/// <summary>
/// The house rules that keep the API readable feature by feature: folders under api/ point one way (no two folders
/// use each other, directly or through others), and the published assembly carries no sandbox. The folder rule is the
/// one docs/architecture.md describes: a folder uses another when one of its files names the other's namespace, or a
/// type declared only there (comments and string literals aside).
/// </summary>
public sealed partial class LayoutTests
{
    [Fact]
    public void No_two_api_folders_depend_on_each_other()
    {
        var edges = FolderEdges(Path.Combine(ApiTypesTests.RepoRoot(), "api"), "BulkMail.Api");

        var cycles = (from a in edges.Keys
                      from b in edges.Keys
                      where string.CompareOrdinal(a, b) < 0 && Reach(edges, a).Contains(b) && Reach(edges, b).Contains(a)
                      select $"{a} <-> {b}").ToList();

        Assert.True(cycles.Count == 0, "folders that use each other: " + string.Join(", ", cycles) + "\n"
            + string.Join("\n", edges.Select(e => $"{e.Key} -> {string.Join(", ", e.Value.Order(StringComparer.Ordinal))}")));
    }

    [Fact]
    public void The_rule_sees_a_cycle_when_there_is_one()
    {
        // The same analysis over two folders that name each other's namespace: proves the check above can fail.
        var root = Directory.CreateTempSubdirectory("layout");
        try
        {
            Directory.CreateDirectory(Path.Combine(root.FullName, "A"));
            Directory.CreateDirectory(Path.Combine(root.FullName, "B"));
            File.WriteAllText(Path.Combine(root.FullName, "A", "One.cs"), "using X.B;\nnamespace X.A;\npublic sealed class One { Two? t; }\n");
            File.WriteAllText(Path.Combine(root.FullName, "B", "Two.cs"), "namespace X.B;\n// One in a comment does not count\npublic sealed class Two { string s = \"One\"; }\n");

            var oneWay = FolderEdges(root.FullName, "X");
            Assert.Equal(["B"], oneWay["A"]);
            Assert.Empty(oneWay["B"]);

            File.WriteAllText(Path.Combine(root.FullName, "B", "Three.cs"), "namespace X.B;\npublic sealed class Three { X.A.One? o; }\n");
            var both = FolderEdges(root.FullName, "X");
            Assert.Contains("A", both["B"]);
        }
        finally
        {
            root.Delete(recursive: true);
        }
    }

    [Fact]
    public void The_published_api_contains_no_sandbox()
    {
        var api = typeof(Program).Assembly;

        Assert.DoesNotContain(api.GetReferencedAssemblies(), a => a.Name!.Contains("Sandbox", StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain(api.GetTypes(), t => t.Namespace?.Contains("Sandbox", StringComparison.Ordinal) == true);
        Assert.False(Directory.Exists(Path.Combine(ApiTypesTests.RepoRoot(), "api", "Sandbox")));
    }

    private static Dictionary<string, HashSet<string>> FolderEdges(string src, string rootNamespace)
    {
        var files = Directory.EnumerateFiles(src, "*.cs", SearchOption.AllDirectories)
            .Select(p => (Rel: Path.GetRelativePath(src, p).Split(Path.DirectorySeparatorChar), Path: p))
            .Where(f => f.Rel[0] is not ("bin" or "obj"))
            .Select(f => (Folder: f.Rel.Length > 1 ? f.Rel[0] : "(root)", Text: File.ReadAllText(f.Path)))
            .ToList();
        var declaredIn = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var (folder, text) in files)
        {
            foreach (Match m in Declaration().Matches(text))
            {
                (declaredIn.TryGetValue(m.Groups[1].Value, out var set) ? set : declaredIn[m.Groups[1].Value] = []).Add(folder);
            }
        }
        var only = declaredIn.Where(d => d.Value.Count == 1).ToDictionary(d => d.Key, d => d.Value.First(), StringComparer.Ordinal);
        var folders = files.Select(f => f.Folder).ToHashSet(StringComparer.Ordinal);
        var edges = folders.ToDictionary(f => f, _ => new HashSet<string>(StringComparer.Ordinal), StringComparer.Ordinal);
        var qualified = new Regex(Regex.Escape(rootNamespace) + @"\.(\w+)");
        foreach (var (folder, text) in files)
        {
            var code = StringLiteral().Replace(Comment().Replace(text, ""), "\"\"");
            var used = qualified.Matches(code).Select(m => m.Groups[1].Value)
                .Concat(TypeName().Matches(code).Select(m => m.Groups[1].Value).Where(only.ContainsKey).Select(t => only[t]));
            foreach (var u in used)
            {
                if (u != folder && folders.Contains(u))
                {
                    edges[folder].Add(u);
                }
            }
        }
        return edges;
    }

    private static HashSet<string> Reach(Dictionary<string, HashSet<string>> edges, string from)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var todo = new Stack<string>([from]);
        while (todo.TryPop(out var x))
        {
            foreach (var y in edges.GetValueOrDefault(x) ?? [])
            {
                if (seen.Add(y))
                {
                    todo.Push(y);
                }
            }
        }
        return seen;
    }

    [GeneratedRegex(@"\b(?:class|record|interface|enum|struct)\s+([A-Z]\w*)")]
    private static partial Regex Declaration();

    [GeneratedRegex(@"//.*|/\*.*?\*/", RegexOptions.Singleline)]
    private static partial Regex Comment();

    [GeneratedRegex(@"""(?:\\.|[^""\\])*""")]
    private static partial Regex StringLiteral();

    [GeneratedRegex(@"\b([A-Z]\w*)\b")]
    private static partial Regex TypeName();
}
