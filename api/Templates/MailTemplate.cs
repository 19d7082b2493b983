using System.Globalization;
using System.Text.RegularExpressions;
using HandlebarsDotNet;

namespace BulkMail.Api.Templates;

/// <summary>A <c>{{ }}</c> expression found in a template, with where it is (1-based line and column).</summary>
public sealed record TemplateTag(string Path, string Part, int Line, int Column, bool Raw);

/// <summary>One problem of a template: an unknown tag, or a syntax error, with its position.</summary>
public sealed record TemplateError(string Code, string Message, string Part, int Line, int Column, string? Tag);

public sealed class TemplateException(IReadOnlyList<TemplateError> errors)
    : Exception(string.Join(" ", errors.Select(e => e.Message)))
{
    public IReadOnlyList<TemplateError> Errors { get; } = errors;
}

/// <summary>What a delivery's message looks like after rendering; <see cref="EmptyTags"/> had no value.</summary>
public sealed record RenderedMail(string Subject, string HtmlBody, IReadOnlyList<string> EmptyTags);

/// <summary>
/// BulkMail's template language: Handlebars with HRBC field aliases as paths (<c>{{Person.P_Name}}</c>), plus
/// <c>{{#if Alias}}…{{else}}…{{/if}}</c> / <c>{{#unless}}</c> for empty values and <c>{{! comments }}</c>.
/// Compiled once per mailing. Values are HTML-escaped in the body (<c>{{{ }}}</c> is raw); subjects are plain
/// text with line breaks removed (a header cannot carry them).
/// </summary>
public sealed class MailTemplateEngine
{
    private readonly IHandlebars _body = Handlebars.Create(new HandlebarsConfiguration
    {
        FormatProvider = CultureInfo.InvariantCulture,
    });

    // Subjects are not HTML: no escaping, or "&" would arrive as "&amp;".
    private readonly IHandlebars _subject = Handlebars.Create(new HandlebarsConfiguration
    {
        FormatProvider = CultureInfo.InvariantCulture,
        NoEscape = true,
    });

    /// <summary>Compiles subject and body; every problem (unknown tags included) is reported at once.</summary>
    /// <param name="isKnown">Whether an alias may be used in this mode (e.g. from HRBC field metadata).</param>
    public MailTemplate Compile(string subject, string body, Func<string, bool> isKnown) =>
        MailTemplate.Compile(_subject, _body, subject, body, isKnown);
}

public sealed partial class MailTemplate
{
    private readonly HandlebarsTemplate<object, object> _subject;
    private readonly HandlebarsTemplate<object, object> _body;

    private MailTemplate(HandlebarsTemplate<object, object> subject, HandlebarsTemplate<object, object> body, IReadOnlyList<TemplateTag> tags)
    {
        _subject = subject;
        _body = body;
        Tags = tags;
    }

    public IReadOnlyList<TemplateTag> Tags { get; }

    /// <summary>The distinct aliases the template reads, e.g. <c>Person.P_Name</c>.</summary>
    public IReadOnlySet<string> Paths => Tags.Select(t => t.Path).ToHashSet(StringComparer.Ordinal);

    internal static MailTemplate Compile(IHandlebars subjectEngine, IHandlebars bodyEngine, string subject, string body, Func<string, bool> isKnown)
    {
        var errors = new List<TemplateError>();
        var tags = new List<TemplateTag>();
        Scan(subject, "subject", tags, errors);
        Scan(body, "body", tags, errors);
        foreach (var tag in tags.Where(t => !isKnown(t.Path)))
        {
            errors.Add(new TemplateError("UnknownTag",
                $"Unknown tag {{{{{tag.Path}}}}} in the {tag.Part} at line {tag.Line}, column {tag.Column}.",
                tag.Part, tag.Line, tag.Column, tag.Path));
        }
        if (errors.Count > 0)
        {
            throw new TemplateException(errors);
        }
        return new MailTemplate(
            CompilePart(subjectEngine, subject, "subject"),
            CompilePart(bodyEngine, body, "body"),
            tags);
    }

    /// <summary>Renders with values keyed by alias; missing or empty values render empty and are listed.</summary>
    public RenderedMail Render(IReadOnlyDictionary<string, string?> values)
    {
        var model = new Dictionary<string, object>(StringComparer.Ordinal);
        foreach (var (alias, value) in values)
        {
            var dot = alias.IndexOf('.');
            if (dot <= 0 || string.IsNullOrEmpty(value))
            {
                continue;
            }
            var resource = alias[..dot];
            if (!model.TryGetValue(resource, out var bag))
            {
                model[resource] = bag = new Dictionary<string, object>(StringComparer.Ordinal);
            }
            ((Dictionary<string, object>)bag)[alias[(dot + 1)..]] = value;
        }
        // One line: every line or paragraph break (CR, LF, VT, FF, NEL, LS, PS) and tab becomes a space, other control
        // characters go (a header field cannot carry them, and clients differ on what they show).
        var subject = OtherControls().Replace(LineBreaks().Replace(_subject(model), " "), "").Trim();
        var body = _body(model);
        var empty = Paths.Where(p => string.IsNullOrEmpty(values.GetValueOrDefault(p))).Order(StringComparer.Ordinal).ToList();
        return new RenderedMail(subject, body, empty);
    }

    private static HandlebarsTemplate<object, object> CompilePart(IHandlebars engine, string text, string part)
    {
        try
        {
            return engine.Compile(text);
        }
        catch (HandlebarsException e)
        {
            throw new TemplateException([new TemplateError("Syntax", $"The {part} has a template syntax error: {e.Message}", part, 1, 1, null)]);
        }
    }

    /// <summary>Finds every <c>{{ }}</c> expression with its line and column, and checks the ones we allow.</summary>
    internal static void Scan(string text, string part, List<TemplateTag> tags, List<TemplateError> errors)
    {
        var blocks = new Stack<(string Name, int Line, int Column)>();
        var i = 0;
        while ((i = text.IndexOf("{{", i, StringComparison.Ordinal)) >= 0)
        {
            var (line, column) = Position(text, i);
            var raw = i + 2 < text.Length && text[i + 2] == '{';
            var close = raw ? "}}}" : "}}";
            var end = text.IndexOf(close, i + (raw ? 3 : 2), StringComparison.Ordinal);
            if (end < 0)
            {
                errors.Add(new TemplateError("Syntax", $"'{(raw ? "{{{" : "{{")}' at line {line}, column {column} of the {part} is never closed with '{close}'.", part, line, column, null));
                return;
            }
            var inner = text[(i + (raw ? 3 : 2))..end].Trim();
            i = end + close.Length;
            if (inner.StartsWith('!'))
            {
                continue; // a comment
            }
            if (inner.Contains("{{", StringComparison.Ordinal))
            {
                errors.Add(new TemplateError("Syntax", $"'{{{{' inside a tag at line {line}, column {column} of the {part}.", part, line, column, null));
                continue;
            }
            var block = BlockOpen().Match(inner);
            if (!raw && block.Success)
            {
                blocks.Push((block.Groups[1].Value, line, column));
                tags.Add(new TemplateTag(block.Groups[2].Value, part, line, column, false));
                continue;
            }
            var blockEnd = BlockClose().Match(inner);
            if (!raw && blockEnd.Success)
            {
                if (blocks.Count == 0 || blocks.Peek().Name != blockEnd.Groups[1].Value)
                {
                    errors.Add(new TemplateError("Syntax", $"{{{{/{blockEnd.Groups[1].Value}}}}} at line {line}, column {column} of the {part} closes no open {{{{#{blockEnd.Groups[1].Value}}}}}.", part, line, column, null));
                }
                else
                {
                    blocks.Pop();
                }
                continue;
            }
            if (!raw && inner == "else")
            {
                if (blocks.Count == 0)
                {
                    errors.Add(new TemplateError("Syntax", $"{{{{else}}}} at line {line}, column {column} of the {part} is outside {{{{#if}}}}.", part, line, column, null));
                }
                continue;
            }
            if (Alias().IsMatch(inner))
            {
                tags.Add(new TemplateTag(inner, part, line, column, raw));
                continue;
            }
            errors.Add(new TemplateError(inner.Length == 0 ? "Syntax" : "UnknownTag",
                inner.Length == 0
                    ? $"An empty tag at line {line}, column {column} of the {part}."
                    : $"Unknown tag {{{{{inner}}}}} in the {part} at line {line}, column {column}: tags are field aliases such as {{{{Person.P_Name}}}}.",
                part, line, column, inner.Length == 0 ? null : inner));
        }
        foreach (var open in blocks)
        {
            errors.Add(new TemplateError("Syntax", $"{{{{#{open.Name}}}}} at line {open.Line}, column {open.Column} of the {part} is never closed with {{{{/{open.Name}}}}}.", part, open.Line, open.Column, null));
        }
        var stray = text.IndexOf("}}", StringComparison.Ordinal);
        if (stray >= 0 && !text[..stray].Contains("{{", StringComparison.Ordinal))
        {
            var (line, column) = Position(text, stray);
            errors.Add(new TemplateError("Syntax", $"'}}}}' at line {line}, column {column} of the {part} closes no tag.", part, line, column, null));
        }
    }

    private static (int Line, int Column) Position(string text, int index)
    {
        var line = 1;
        var lineStart = 0;
        for (var k = 0; k < index; k++)
        {
            if (text[k] == '\n')
            {
                line++;
                lineStart = k + 1;
            }
        }
        return (line, index - lineStart + 1);
    }

    [GeneratedRegex(@"^[A-Za-z][A-Za-z0-9]*\.[A-Za-z][A-Za-z0-9_]*$")]
    private static partial Regex Alias();

    [GeneratedRegex(@"^#(if|unless)\s+([A-Za-z][A-Za-z0-9]*\.[A-Za-z][A-Za-z0-9_]*)$")]
    private static partial Regex BlockOpen();

    [GeneratedRegex(@"^/(if|unless)$")]
    private static partial Regex BlockClose();

    [GeneratedRegex(@"[\r\n\t\u000B\u000C\u0085\u2028\u2029]+")]
    private static partial Regex LineBreaks();

    [GeneratedRegex(@"[\u0000-\u001F\u007F-\u009F]")]
    private static partial Regex OtherControls();
}
