using BulkMail.Api.Infrastructure;
using System.Globalization;
using System.Text.RegularExpressions;

namespace BulkMail.Api.Hrbc;

/// <summary>The <c>field</c> parameter: aliases, with <c>Alias(Sub,Sub)</c> for reference and user fields.</summary>
public sealed partial class HrbcFieldList
{
    private readonly List<string> _parts = [];

    public static HrbcFieldList Of(params string[] aliases)
    {
        var list = new HrbcFieldList();
        foreach (var a in aliases)
        {
            list.Add(a);
        }
        return list;
    }

    public HrbcFieldList Add(string alias)
    {
        _parts.Add(CheckAlias(alias));
        return this;
    }

    /// <summary>A reference or user field with the sub-fields of the referenced record.</summary>
    public HrbcFieldList Add(string alias, params string[] subFields)
    {
        if (subFields.Length == 0)
        {
            return Add(alias);
        }
        _parts.Add($"{CheckAlias(alias)}({string.Join(',', subFields.Select(CheckAlias))})");
        return this;
    }

    public HrbcFieldList AddRange(IEnumerable<string> aliases)
    {
        foreach (var a in aliases)
        {
            Add(a);
        }
        return this;
    }

    public bool Contains(string alias) => _parts.Any(p => p == alias || p.StartsWith(alias + "(", StringComparison.Ordinal));

    public override string ToString() => string.Join(',', _parts);

    internal static string CheckAlias(string alias) =>
        AliasPattern().IsMatch(alias) ? alias : throw new ArgumentException($"'{alias}' is not an HRBC field alias.", nameof(alias));

    [GeneratedRegex(@"^[A-Za-z][A-Za-z0-9]*\.[A-Za-z][A-Za-z0-9_]*$")]
    internal static partial Regex AliasPattern();
}

/// <summary>One condition term: <c>Alias:suffix=value[:value…]</c>.</summary>
public sealed record HrbcConditionTerm(string Alias, string Suffix, IReadOnlyList<string> Values)
{
    public override string ToString() =>
        Suffix.Length == 0 ? $"{Alias}={string.Join(':', Values)}" : $"{Alias}:{Suffix}={string.Join(':', Values)}";
}

/// <summary>
/// Builds the <c>condition</c> parameter (terms are AND-ed). Callers never concatenate strings: values are
/// checked so that a comma or colon in user input cannot change the meaning of the condition.
/// </summary>
public sealed partial class HrbcCondition
{
    public static readonly IReadOnlySet<string> Suffixes = new HashSet<string>(StringComparer.Ordinal)
        { "gt", "ge", "eq", "le", "lt", "or", "and", "full", "part" };

    private readonly List<HrbcConditionTerm> _terms = [];

    public IReadOnlyList<HrbcConditionTerm> Terms => _terms;

    public bool IsEmpty => _terms.Count == 0;

    public static HrbcCondition Where() => new();

    public HrbcCondition Eq(string alias, long value) => Add(alias, "eq", Num(value));
    public HrbcCondition Gt(string alias, long value) => Add(alias, "gt", Num(value));
    public HrbcCondition Ge(string alias, long value) => Add(alias, "ge", Num(value));
    public HrbcCondition Le(string alias, long value) => Add(alias, "le", Num(value));
    public HrbcCondition Lt(string alias, long value) => Add(alias, "lt", Num(value));
    public HrbcCondition Ge(string alias, DateTimeOffset value) => Add(alias, "ge", HrbcXml.FormatDateTime(value));
    public HrbcCondition Le(string alias, DateTimeOffset value) => Add(alias, "le", HrbcXml.FormatDateTime(value));
    public HrbcCondition Gt(string alias, DateTimeOffset value) => Add(alias, "gt", HrbcXml.FormatDateTime(value));
    public HrbcCondition Lt(string alias, DateTimeOffset value) => Add(alias, "lt", HrbcXml.FormatDateTime(value));

    /// <summary>Any of several ids (or phase option ids): <c>Alias:or=1:2:3</c>.</summary>
    public HrbcCondition AnyOf(string alias, IEnumerable<long> ids)
    {
        var values = ids.Select(Num).ToList();
        if (values.Count == 0)
        {
            throw new ArgumentException("At least one id is needed.", nameof(ids));
        }
        return Add(alias, "or", [.. values]);
    }

    /// <summary>Text containing <paramref name="text"/> (<c>part</c>).</summary>
    public HrbcCondition Contains(string alias, string text) => Add(alias, "part", Text(text));

    /// <summary>Text equal to <paramref name="text"/> (<c>full</c>).</summary>
    public HrbcCondition Exactly(string alias, string text) => Add(alias, "full", Text(text));

    /// <summary>Option field having any of the option aliases.</summary>
    public HrbcCondition AnyOption(string alias, params string[] optionAliases) =>
        Add(alias, "or", [.. optionAliases.Select(OptionAlias)]);

    /// <summary>Option field having all of the option aliases.</summary>
    public HrbcCondition AllOptions(string alias, params string[] optionAliases) =>
        Add(alias, "and", [.. optionAliases.Select(OptionAlias)]);

    public HrbcCondition And(HrbcCondition other)
    {
        var c = Copy();
        c._terms.AddRange(other._terms);
        return c;
    }

    public override string ToString() => string.Join(',', _terms);

    /// <summary>
    /// Parses condition text (e.g. from the task pane) into terms, checking aliases, suffixes and values.
    /// Throws <see cref="HrbcConditionException"/> (a <see cref="FormatException"/>) naming the bad term.
    /// </summary>
    public static HrbcCondition Parse(string? text)
    {
        var c = new HrbcCondition();
        if (string.IsNullOrWhiteSpace(text))
        {
            return c;
        }
        foreach (var raw in text.Split(','))
        {
            var term = raw.Trim();
            var m = TermPattern().Match(term);
            if (!m.Success)
            {
                throw new HrbcConditionException(CodedText.Of(ProblemCode.ConditionNotATerm, ("term", term)));
            }
            var alias = m.Groups["alias"].Value;
            var suffix = m.Groups["suffix"].Success ? m.Groups["suffix"].Value : null;
            var value = m.Groups["value"].Value;
            if (suffix is not null && !Suffixes.Contains(suffix))
            {
                throw new HrbcConditionException(CodedText.Of(ProblemCode.ConditionSuffixUnknown, ("suffix", suffix), ("term", term), ("suffixes", string.Join(", ", Suffixes))));
            }
            if (value.Length == 0)
            {
                throw new HrbcConditionException(CodedText.Of(ProblemCode.ConditionNoValue, ("term", term)));
            }
            // A date-time value contains colons itself; only or/and split on them.
            IReadOnlyList<string> values = suffix is "or" or "and" ? value.Split(':') : [value];
            if (values.Any(v => v.Length == 0))
            {
                throw new HrbcConditionException(CodedText.Of(ProblemCode.ConditionEmptyValue, ("term", term)));
            }
            // Without a suffix HRBC applies the type's default; keep it implicit rather than guess the type.
            c._terms.Add(new HrbcConditionTerm(alias, suffix ?? "", values));
        }
        return c;
    }

    private HrbcCondition Add(string alias, string suffix, params string[] values)
    {
        var c = Copy();
        c._terms.Add(new HrbcConditionTerm(HrbcFieldList.CheckAlias(alias), suffix, values));
        return c;
    }

    private HrbcCondition Copy()
    {
        var c = new HrbcCondition();
        c._terms.AddRange(_terms);
        return c;
    }

    private static string Num(long n) => n.ToString(CultureInfo.InvariantCulture);

    private static string Text(string text)
    {
        if (string.IsNullOrEmpty(text) || text.IndexOfAny([',', '\r', '\n']) >= 0)
        {
            throw new ArgumentException("A condition text value must be non-empty and cannot contain commas or line breaks.", nameof(text));
        }
        return text;
    }

    private static string OptionAlias(string alias) =>
        alias.StartsWith("Option.", StringComparison.Ordinal) && HrbcFieldList.AliasPattern().IsMatch(alias)
            ? alias
            : throw new ArgumentException($"'{alias}' is not an option alias.", nameof(alias));

    [GeneratedRegex(@"^(?<alias>[A-Za-z][A-Za-z0-9]*\.[A-Za-z][A-Za-z0-9_]*)(?::(?<suffix>[a-z]+))?=(?<value>.*)$")]
    private static partial Regex TermPattern();
}

/// <summary>A read of a resource: which fields, which records, which page.</summary>
public sealed record HrbcQuery
{
    public const int MaxCount = 200;
    public const int MaxKeywordsLength = 100;

    public HrbcFieldList? Fields { get; init; }
    public HrbcCondition? Condition { get; init; }
    /// <summary>
    /// HRBC's keywords: comma-separated AND terms. What a user types with spaces between words (half- or full-width,
    /// as in 「田中　東京」) becomes those terms, so a search for two words finds the records holding both.
    /// </summary>
    public string? Keywords { get; init => field = NormalizeKeywords(value); }

    /// <summary>Splits on spaces (U+0020, U+3000, any white space) and commas, drops empty terms, joins with commas.</summary>
    public static string? NormalizeKeywords(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }
        var terms = text.Split([',', '、', '，'], StringSplitOptions.None)
            .SelectMany(part => part.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
            .Where(t => t.Length > 0);
        var joined = string.Join(',', terms);
        return joined.Length == 0 ? null : joined;
    }
    public string? Order { get; init; }
    public int Start { get; init; }
    public int Count { get; init; } = MaxCount;

    /// <summary>Throws <see cref="ArgumentException"/> naming the parameter that HRBC would reject.</summary>
    public void Validate()
    {
        if (Count is < 1 or > MaxCount)
        {
            throw new ArgumentOutOfRangeException("count", Count, "count must be between 1 and 200.");
        }
        if (Start < 0)
        {
            throw new ArgumentOutOfRangeException("start", Start, "start must be 0 or more.");
        }
        if (Keywords is { Length: > MaxKeywordsLength })
        {
            throw new ArgumentException("keywords must be at most 100 characters including commas.", "keywords");
        }
    }
}

/// <summary>A condition that cannot be parsed; <see cref="Text"/> is its coded message.</summary>
public sealed class HrbcConditionException(BulkMail.Api.Infrastructure.CodedText text) : FormatException(text.English)
{
    public BulkMail.Api.Infrastructure.CodedText Text { get; } = text;
}
