using System.Globalization;

namespace BulkMail.Api.Hrbc;

/// <summary>Turns a read record into alias → display text: option names, referenced records' fields, dates.</summary>
public static class HrbcDisplay
{
    /// <summary>
    /// Flattens a record: each field by its alias; a reference read with sub-fields contributes the sub-fields under
    /// their own aliases (<c>Person.P_Name</c> from <c>Resume.P_Candidate(Person.P_Name)</c>) and itself as the
    /// referenced record's name; options show their names (from the read, else from <paramref name="optionNames"/>).
    /// </summary>
    public static Dictionary<string, string?> Flatten(HrbcRecord record, IReadOnlyDictionary<string, string>? optionNames = null)
    {
        var result = new Dictionary<string, string?>(StringComparer.Ordinal);
        Add(record, result, optionNames);
        return result;
    }

    private static void Add(HrbcRecord record, Dictionary<string, string?> into, IReadOnlyDictionary<string, string>? optionNames)
    {
        foreach (var (alias, value) in record.Fields)
        {
            switch (value)
            {
                case HrbcText t:
                    into.TryAdd(alias, t.Value.Length == 0 ? null : t.Value);
                    break;
                case HrbcOptionSet s:
                    into.TryAdd(alias, s.Options.Count == 0 ? null
                        : string.Join("、", s.Options.Select(o => o.Name ?? optionNames?.GetValueOrDefault(o.Alias) ?? o.Alias)));
                    break;
                case HrbcReference r when r.Records.Count > 0:
                    var first = r.Records[0];
                    into.TryAdd(alias, NameOf(first) ?? first.Id?.ToString(CultureInfo.InvariantCulture));
                    foreach (var nested in r.Records)
                    {
                        Add(nested, into, optionNames);
                    }
                    break;
                default:
                    into.TryAdd(alias, null);
                    break;
            }
        }
    }

    private static string? NameOf(HrbcRecord r) =>
        r.Fields.Keys.FirstOrDefault(k => k.EndsWith(".P_Name", StringComparison.Ordinal)) is { } nameAlias ? r.Text(nameAlias) : null;
}
