using System.Globalization;
using System.Xml;
using System.Xml.Linq;

namespace BulkMail.Api.Hrbc;

/// <summary>
/// Parses HRBC's XML with System.Xml.Linq. Tolerant of the shapes the documentation disagrees on:
/// option values with or without the option-root wrapper and with or without <c>Option.P_Name</c>;
/// any wrapper tag inside reference fields (<c>Candidate</c> or <c>Person</c>); empty elements for empty values.
/// </summary>
public static class HrbcXml
{
    private static readonly XmlReaderSettings ReaderSettings = new()
    {
        DtdProcessing = DtdProcessing.Prohibit,
        XmlResolver = null,
        IgnoreComments = true,
        Async = true,
    };

    private static readonly XmlReaderSettings SyncReaderSettings = new()
    {
        DtdProcessing = DtdProcessing.Prohibit,
        XmlResolver = null,
        IgnoreComments = true,
    };

    public static async Task<XElement?> TryLoadAsync(Stream stream, CancellationToken cancellationToken)
    {
        try
        {
            using var reader = XmlReader.Create(stream, ReaderSettings);
            var doc = await XDocument.LoadAsync(reader, LoadOptions.None, cancellationToken).ConfigureAwait(false);
            return doc.Root;
        }
        catch (XmlException)
        {
            return null;
        }
    }

    public static XElement? TryParse(string xml)
    {
        try
        {
            using var reader = XmlReader.Create(new StringReader(xml), SyncReaderSettings);
            return XDocument.Load(reader).Root;
        }
        catch (XmlException)
        {
            return null;
        }
    }

    /// <summary>The root <c>&lt;Code&gt;</c> of a resource answer, if any (Write successes have none).</summary>
    public static int? RootCode(XElement root) =>
        root.Element("Code") is { } c && int.TryParse(c.Value.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : null;

    public static string RootMessage(XElement root) => root.Element("Message")?.Value.Trim() ?? "";

    /// <summary>True when a body is an HRBC answer with result code 9 (maintenance).</summary>
    public static bool IsMaintenance(string body) => HrbcTransience.RetriesAnswer(body, atMostOnceWrite: true);

    public static int Attr(XElement root, string name) =>
        int.TryParse((string?)root.Attribute(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : 0;

    public static HrbcPage ParsePage(XElement root, ISet<string>? optionRoots = null)
    {
        var items = root.Elements("Item").Select(i => ParseRecord(i, optionRoots)).ToList();
        var total = root.Attribute("Total") is null ? items.Count : Attr(root, "Total");
        return new HrbcPage(total, Attr(root, "Start"), items);
    }

    public static HrbcRecord ParseRecord(XElement item, ISet<string>? optionRoots = null, string? wrapper = null)
    {
        var fields = new Dictionary<string, HrbcValue>(StringComparer.Ordinal);
        foreach (var el in item.Elements())
        {
            fields[el.Name.LocalName] = ParseValue(el, optionRoots);
        }
        return new HrbcRecord(fields, wrapper);
    }

    private static HrbcValue ParseValue(XElement field, ISet<string>? optionRoots)
    {
        if (!field.HasElements)
        {
            return new HrbcText(field.Value);
        }
        var first = field.Elements().First().Name.LocalName;
        if (first.StartsWith("Option.", StringComparison.Ordinal))
        {
            var options = new List<HrbcOption>();
            CollectOptions(field, options, optionRoots);
            return new HrbcOptionSet(options);
        }
        // Reference/User: one wrapper element per referenced record holding its sub-fields.
        // A few shapes put the sub-fields directly under the field; accept those as one record.
        if (field.Elements().All(e => e.HasElements || e.IsEmpty && !e.Name.LocalName.Contains('.')))
        {
            return new HrbcReference(field.Elements()
                .Select(w => ParseRecord(w, optionRoots, w.Name.LocalName)).ToList());
        }
        return new HrbcReference([ParseRecord(field, optionRoots)]);
    }

    private static void CollectOptions(XElement parent, List<HrbcOption> into, ISet<string>? optionRoots)
    {
        foreach (var el in parent.Elements())
        {
            var alias = el.Name.LocalName;
            if (alias is "Option.P_Id" or "Option.P_Name")
            {
                continue;
            }
            var isLeaf = !el.HasElements || el.Element("Option.P_Id") is not null || el.Element("Option.P_Name") is not null;
            if (!isLeaf)
            {
                CollectOptions(el, into, optionRoots); // the option-root wrapper (e.g. Option.P_Area)
                continue;
            }
            if (!el.HasElements && optionRoots is not null && optionRoots.Contains(alias))
            {
                continue; // an empty root wrapper: nothing selected
            }
            long? id = long.TryParse(el.Element("Option.P_Id")?.Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : null;
            var name = el.Element("Option.P_Name")?.Value;
            into.Add(new HrbcOption(alias, id, string.IsNullOrEmpty(name) ? null : name));
        }
    }

    public static IReadOnlyList<HrbcWriteResult> ParseWriteResults(XElement root) =>
        root.Elements("Item").Select((item, index) => new HrbcWriteResult(
            index,
            long.TryParse(item.Element("Id")?.Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var id) ? id : null,
            int.TryParse(item.Element("Code")?.Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var code) ? code : -1,
            item.Element("Message")?.Value)).ToList();

    public static string FormatDateTime(DateTimeOffset value) =>
        value.UtcDateTime.ToString(HrbcRecord.DateTimeFormat, CultureInfo.InvariantCulture);
}
