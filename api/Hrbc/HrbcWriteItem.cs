using System.Globalization;
using System.Xml.Linq;

namespace BulkMail.Api.Hrbc;

/// <summary>One <c>&lt;Item&gt;</c> of a Write: id -1 creates, an existing id updates.</summary>
public sealed class HrbcWriteItem
{
    private readonly List<XElement> _fields = [];

    public HrbcWriteItem(long id) => Id = id;

    public static HrbcWriteItem Create() => new(-1);

    public long Id { get; }

    public bool Has(string alias) => _fields.Any(f => f.Name.LocalName == alias);

    public HrbcWriteItem Set(string alias, string? value)
    {
        _fields.Add(new XElement(HrbcFieldList.CheckAlias(alias), value ?? ""));
        return this;
    }

    /// <summary>A number, or a reference/user field (written as the referenced id only).</summary>
    public HrbcWriteItem Set(string alias, long value) => Set(alias, value.ToString(CultureInfo.InvariantCulture));

    /// <summary>A DateTime, written in UTC as <c>yyyy/MM/dd HH:mm:ss</c>.</summary>
    public HrbcWriteItem Set(string alias, DateTimeOffset value) => Set(alias, HrbcXml.FormatDateTime(value));

    /// <summary>An option field: leaf aliases as empty elements.</summary>
    public HrbcWriteItem SetOptions(string alias, params string[] optionAliases)
    {
        _fields.Add(new XElement(HrbcFieldList.CheckAlias(alias), optionAliases.Select(a => new XElement(HrbcFieldList.CheckAlias(a)))));
        return this;
    }

    internal XElement ToXml(HrbcResource resource) =>
        new("Item", new XElement(resource.IdAlias, Id.ToString(CultureInfo.InvariantCulture)), _fields);
}
