using System.Globalization;

namespace BulkMail.Api.Hrbc;

/// <summary>One value of a record's field as HRBC sends it.</summary>
public abstract record HrbcValue;

/// <summary>Text, numbers and dates as sent (dates are UTC <c>yyyy/MM/dd HH:mm:ss</c>); empty string for an empty element.</summary>
public sealed record HrbcText(string Value) : HrbcValue;

/// <summary>Option field: the selected leaf options (several for a checkbox field).</summary>
public sealed record HrbcOptionSet(IReadOnlyList<HrbcOption> Options) : HrbcValue;

/// <summary>A selected option; <see cref="Name"/> is only there when HRBC sends <c>Option.P_Name</c>.</summary>
public sealed record HrbcOption(string Alias, long? Id, string? Name);

/// <summary>A System[Reference] or User field read with <c>(sub,fields)</c>: the referenced record(s).</summary>
public sealed record HrbcReference(IReadOnlyList<HrbcRecord> Records) : HrbcValue;

/// <summary>One <c>&lt;Item&gt;</c> of a read: field alias → value, in the order HRBC sent them.</summary>
public sealed class HrbcRecord(IReadOnlyDictionary<string, HrbcValue> fields, string? wrapper = null)
{
    public static readonly string DateTimeFormat = "yyyy/MM/dd HH:mm:ss";

    public IReadOnlyDictionary<string, HrbcValue> Fields { get; } = fields;

    /// <summary>The wrapper element name when this record sits inside a reference (e.g. <c>Candidate</c>, <c>User</c>).</summary>
    public string? Wrapper { get; } = wrapper;

    public bool Has(string alias) => Fields.ContainsKey(alias);

    /// <summary>The text of a field; for a reference, the referenced record's id; null when absent or empty.</summary>
    public string? Text(string alias) => Fields.TryGetValue(alias, out var v) ? v switch
    {
        HrbcText t when t.Value.Length > 0 => t.Value,
        HrbcReference r when r.Records.Count > 0 => r.Records[0].Id?.ToString(CultureInfo.InvariantCulture),
        _ => null,
    } : null;

    public long? Long(string alias) =>
        long.TryParse(Text(alias), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : null;

    public decimal? Decimal(string alias) =>
        decimal.TryParse(Text(alias), NumberStyles.Number, CultureInfo.InvariantCulture, out var n) ? n : null;

    /// <summary>A DateTime field as UTC (HRBC sends UTC without an offset).</summary>
    public DateTimeOffset? DateTimeUtc(string alias)
    {
        var text = Text(alias);
        if (text is null)
        {
            return null;
        }
        string[] formats = [DateTimeFormat, "yyyy/MM/dd"];
        return DateTime.TryParseExact(text, formats, CultureInfo.InvariantCulture,
            DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var d)
            ? new DateTimeOffset(d, TimeSpan.Zero)
            : null;
    }

    public IReadOnlyList<HrbcOption> Options(string alias) =>
        Fields.TryGetValue(alias, out var v) && v is HrbcOptionSet s ? s.Options : [];

    /// <summary>The referenced record, when the field was read with sub-fields.</summary>
    public HrbcRecord? Ref(string alias) =>
        Fields.TryGetValue(alias, out var v) && v is HrbcReference r && r.Records.Count > 0 ? r.Records[0] : null;

    /// <summary>The primary key: the first field named <c>*.P_Id</c> (or bare <c>Id</c> for Phase/Attachment).</summary>
    public long? Id
    {
        get
        {
            foreach (var (alias, value) in Fields)
            {
                if ((alias.EndsWith(".P_Id", StringComparison.Ordinal) || alias == "Id") && value is HrbcText t
                    && long.TryParse(t.Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var id))
                {
                    return id;
                }
            }
            return null;
        }
    }

    /// <summary>The id held by a reference field, whether read as a bare id or with sub-fields.</summary>
    public long? RefId(string alias) => Fields.TryGetValue(alias, out var v) ? v switch
    {
        HrbcText t => long.TryParse(t.Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : null,
        HrbcReference r when r.Records.Count > 0 => r.Records[0].Id,
        _ => null,
    } : null;
}

/// <summary>One page of a read with HRBC's Total/Count/Start.</summary>
public sealed record HrbcPage(int Total, int Start, IReadOnlyList<HrbcRecord> Items)
{
    public int Count => Items.Count;
}

/// <summary>The outcome of one item of a write: the created or updated id and its own result code.</summary>
public sealed record HrbcWriteResult(int Index, long? Id, int Code, string? Message)
{
    public bool Succeeded => Code == 0;
}
