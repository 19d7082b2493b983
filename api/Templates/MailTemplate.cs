using BulkMail.Api.Infrastructure;
using System.Globalization;
using System.Runtime.ExceptionServices;
using System.Text;
using System.Text.RegularExpressions;
using HandlebarsDotNet;
using Microsoft.Extensions.Options;

namespace BulkMail.Api.Templates;

/// <summary>A <c>{{ }}</c> expression found in a template, with where it is (1-based visible line and column).</summary>
/// <param name="Fallback">What <c>{{default Alias "…"}}</c> writes when the value is empty (null: a plain tag).</param>
public sealed record TemplateTag(string Path, string Part, int Line, int Column, bool Raw, string? Fallback = null);

/// <summary>
/// One problem of a template, or a near-miss tag spelling. <see cref="Code"/> and <see cref="Args"/> are what clients
/// translate; <see cref="Message"/> is English and states the problem once: the place is <see cref="Part"/>,
/// <see cref="Line"/> and <see cref="Column"/> (visible lines of the body; none for a size limit).
/// </summary>
public sealed record TemplateError(string Code, string Message, string Part, int? Line, int? Column, string? Tag)
{
    public IReadOnlyDictionary<string, string> Args { get; init; } = new Dictionary<string, string>();

    /// <summary>As a coded field message: its own English message, its code, and as args its own plus its place
    /// (part, line, column) and tag.</summary>
    public CodedText Text()
    {
        var args = new Dictionary<string, string>(Args) { ["part"] = Part };
        if (Line is { } line)
        {
            args.TryAdd("line", line.ToString(CultureInfo.InvariantCulture));
        }
        if (Column is { } column)
        {
            args.TryAdd("column", column.ToString(CultureInfo.InvariantCulture));
        }
        if (Tag is { } tag)
        {
            args.TryAdd("tag", tag);
        }
        return new CodedText(Code, args) { English = Message };
    }
}

/// <summary>The codes of <see cref="TemplateError"/>.</summary>
public static class TemplateErrorCodes
{
    public const string UnknownTag = "UnknownTag";        // {tag, suggestion?}
    public const string EmptyTag = "EmptyTag";
    public const string Unclosed = "Unclosed";            // {open, close, suggestion?}
    public const string StrayClose = "StrayClose";        // {close}
    public const string UnclosedBlock = "UnclosedBlock";  // {block}
    public const string Syntax = "Syntax";                // {detail}
    public const string TooDeep = "TooDeep";              // {max}
    public const string TooManyTags = "TooManyTags";      // {max}
    public const string TooLong = "TooLong";              // {max, actual, unit}
    public const string NearMissTag = "NearMissTag";      // {found, suggestion}
}

public sealed class TemplateException(IReadOnlyList<TemplateError> errors)
    : Exception(string.Join(" ", errors.Select(e => e.Message)))
{
    public IReadOnlyList<TemplateError> Errors { get; } = errors;
}

/// <summary>What a delivery's message looks like after rendering; <see cref="EmptyTags"/> had no value (tags written
/// only with a fallback are not among them); <see cref="Fallbacks"/> had none and got their fallback.</summary>
public sealed record RenderedMail(string Subject, string HtmlBody, IReadOnlyList<string> EmptyTags)
{
    public IReadOnlyList<string> Fallbacks { get; init; } = [];
}

/// <summary>
/// BulkMail's template language: Handlebars with HRBC field aliases as paths (<c>{{Person.P_Name}}</c>), plus
/// <c>{{#if Alias}}…{{else}}…{{/if}}</c> / <c>{{#unless}}</c> for empty values, <c>{{default Alias "fallback"}}</c> (the
/// value, or the fallback text when it is empty, e.g. <c>{{default Person.P_Name "ご担当者様"}}</c>) and <c>{{! comments }}</c>.
/// Compiled once per mailing. Values are HTML-escaped in the body (<c>{{{ }}}</c> is raw); subjects are plain
/// text with line breaks removed (a header cannot carry them).
/// </summary>
public sealed class MailTemplateEngine(IOptions<TemplateOptions> options)
{
    public MailTemplateEngine() : this(Options.Create(new TemplateOptions()))
    {
    }

    public TemplateOptions Limits => options.Value;

    private readonly IHandlebars _body = WithHelpers(Handlebars.Create(new HandlebarsConfiguration
    {
        FormatProvider = CultureInfo.InvariantCulture,
    }));

    // Subjects are not HTML: no escaping, or "&" would arrive as "&amp;".
    private readonly IHandlebars _subject = WithHelpers(Handlebars.Create(new HandlebarsConfiguration
    {
        FormatProvider = CultureInfo.InvariantCulture,
        NoEscape = true,
    }));

    /// <summary><c>{{default Alias "fallback"}}</c>: the value, or the fallback when it is missing or empty; written
    /// through the engine's writer, so the body escapes either (a fallback is text, not HTML).</summary>
    private static IHandlebars WithHelpers(IHandlebars engine)
    {
        engine.RegisterHelper(MailTemplate.DefaultHelper, (Context context, Arguments arguments) =>
            arguments.Length == 2 && arguments[0] is not (null or UndefinedBindingResult) && Convert.ToString(arguments[0], CultureInfo.InvariantCulture) is { Length: > 0 } value
                ? value
                : arguments.Length == 2 ? arguments[1] ?? "" : "");
        return engine;
    }

    /// <summary>Compiles subject and body; every problem (unknown tags included) is reported at once.</summary>
    /// <param name="isKnown">Whether an alias may be used in this mode (e.g. from HRBC field metadata).</param>
    /// <param name="candidates">The known aliases, to suggest the nearest for an unknown tag.</param>
    public MailTemplate Compile(string subject, string body, Func<string, bool> isKnown, IEnumerable<string>? candidates = null)
    {
        Interlocked.Increment(ref _compilations);
        return MailTemplate.Compile(_subject, _body, subject, body, isKnown, candidates, options.Value);
    }

    private long _compilations;

    /// <summary>Templates compiled by this engine so far: the observable cost of planning (a plan is built once per
    /// preview and once per worker run; tests count it).</summary>
    public long Compilations => Interlocked.Read(ref _compilations);
}

public sealed partial class MailTemplate
{
    /// <summary>The stack Handlebars compiles on: known on every platform (a thread-pool thread's is not), and far
    /// more than <see cref="TemplateOptions.MaxDepth"/> levels need. Depth is checked before, so it cannot overflow.</summary>
    public const int CompilerStackBytes = 16 * 1024 * 1024;

    /// <summary>The fallback helper's name: <c>{{default Alias "text"}}</c>.</summary>
    public const string DefaultHelper = "default";

    /// <summary>A failing template reports at most this many problems (each is a line for the user to fix).</summary>
    private const int MaxErrors = 100;

    private const int MaxSuggestions = 20;

    private readonly HandlebarsTemplate<object, object> _subject;
    private readonly HandlebarsTemplate<object, object> _body;

    private MailTemplate(HandlebarsTemplate<object, object> subject, HandlebarsTemplate<object, object> body, IReadOnlyList<TemplateTag> tags,
        IReadOnlyList<TemplateError> nearMisses)
    {
        _subject = subject;
        _body = body;
        Tags = tags;
        NearMisses = nearMisses;
        Paths = tags.Select(t => t.Path).ToHashSet(StringComparer.Ordinal);
        FallbackOnly = tags.GroupBy(t => t.Path, StringComparer.Ordinal).Where(g => g.All(t => t.Fallback is not null))
            .Select(g => g.Key).ToHashSet(StringComparer.Ordinal);
        WithFallback = tags.Where(t => t.Fallback is not null).Select(t => t.Path).ToHashSet(StringComparer.Ordinal);
    }

    public IReadOnlyList<TemplateTag> Tags { get; }

    /// <summary>Text that looks like a tag but is not one, so it would be sent as typed (<c>｛｛Person.P_Name｝｝</c>,
    /// <c>{ {…} }</c>, <c>{Person.P_Name}</c>): a warning in the preview, refused at submit unless confirmed.</summary>
    public IReadOnlyList<TemplateError> NearMisses { get; }

    /// <summary>The distinct aliases the template reads, e.g. <c>Person.P_Name</c>.</summary>
    public IReadOnlySet<string> Paths { get; }

    /// <summary>Aliases every use of which has a fallback (<c>{{default …}}</c>): never reported as empty.</summary>
    public IReadOnlySet<string> FallbackOnly { get; }

    /// <summary>Aliases with a fallback somewhere in the template.</summary>
    public IReadOnlySet<string> WithFallback { get; }

    internal static MailTemplate Compile(IHandlebars subjectEngine, IHandlebars bodyEngine, string subject, string body, Func<string, bool> isKnown,
        IEnumerable<string>? candidates, TemplateOptions limits)
    {
        var errors = new List<TemplateError>();
        if (subject.Length > limits.MaxSubjectLength)
        {
            errors.Add(Error(TemplateErrorCodes.TooLong, $"At most {limits.MaxSubjectLength:N0} characters are allowed; this is {subject.Length:N0}.",
                "subject", null, null, null, ("max", Num(limits.MaxSubjectLength)), ("actual", Num(subject.Length)), ("unit", "characters")));
        }
        var bodyBytes = Encoding.UTF8.GetByteCount(body);
        if (bodyBytes > limits.MaxBodyBytes)
        {
            errors.Add(Error(TemplateErrorCodes.TooLong, $"At most {Size(limits.MaxBodyBytes)} ({limits.MaxBodyBytes:N0} bytes) is allowed; this is {bodyBytes:N0} bytes.",
                "body", null, null, null, ("max", Num(limits.MaxBodyBytes)), ("actual", Num(bodyBytes)), ("unit", "bytes")));
        }
        if (errors.Count > 0)
        {
            throw new TemplateException(errors); // nothing is scanned, let alone compiled
        }

        var scan = new ScanState(limits, isKnown, candidates);
        Scan(subject, "subject", scan);
        if (!scan.Stopped)
        {
            Scan(body, "body", scan);
        }
        errors.AddRange(scan.Errors);
        foreach (var tag in scan.Tags.Where(t => !isKnown(t.Path)))
        {
            errors.Add(UnknownTag(tag.Path, tag.Part, tag.Line, tag.Column, scan.Suggest.For(tag.Path)));
        }
        if (errors.Count > 0)
        {
            throw new TemplateException([.. errors.OrderBy(e => e.Part == "subject" ? 0 : 1).ThenBy(e => e.Line).ThenBy(e => e.Column).Take(MaxErrors)]);
        }
        return OnCompilerStack(() => new MailTemplate(
            CompilePart(subjectEngine, subject, "subject"),
            CompilePart(bodyEngine, body, "body"),
            scan.Tags, scan.NearMisses));
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
        var blank = Paths.Where(p => string.IsNullOrEmpty(values.GetValueOrDefault(p))).Order(StringComparer.Ordinal).ToList();
        return new RenderedMail(subject, body, [.. blank.Where(p => !FallbackOnly.Contains(p))]) { Fallbacks = [.. blank.Where(WithFallback.Contains)] };
    }

    private static T OnCompilerStack<T>(Func<T> compile)
    {
        T? result = default;
        ExceptionDispatchInfo? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                result = compile();
            }
            catch (Exception e)
            {
                failure = ExceptionDispatchInfo.Capture(e);
            }
        }, CompilerStackBytes)
        { IsBackground = true, Name = "template compiler" };
        thread.Start();
        thread.Join();
        failure?.Throw();
        return result!;
    }

    private static HandlebarsTemplate<object, object> CompilePart(IHandlebars engine, string text, string part)
    {
        try
        {
            return engine.Compile(text);
        }
        catch (HandlebarsException e)
        {
            throw new TemplateException([Error(TemplateErrorCodes.Syntax, $"Template syntax error: {e.Message}", part, null, null, null, ("detail", e.Message))]);
        }
    }

    internal sealed class ScanState(TemplateOptions limits, Func<string, bool> isKnown, IEnumerable<string>? candidates)
    {
        public TemplateOptions Limits { get; } = limits;
        public Func<string, bool> IsKnown { get; } = isKnown;
        public Suggester Suggest { get; } = new(candidates);
        public List<TemplateTag> Tags { get; } = [];
        public List<TemplateError> Errors { get; } = [];
        public List<TemplateError> NearMisses { get; } = [];
        public int TagCount { get; set; }
        public bool Stopped { get; set; }
    }

    /// <summary>Finds every <c>{{ }}</c> expression with its visible line and column in one pass, checks the ones we
    /// allow, the nesting depth and the tag count, and collects near-miss spellings. Linear in the text.</summary>
    internal static void Scan(string text, string part, ScanState state)
    {
        var errors = state.Errors;
        var html = part == "body" && HtmlTag().IsMatch(text);
        var position = new VisiblePosition(text, html);
        var spans = new List<(int Start, int End)>();
        var blocks = new Stack<(string Name, int Line, int Column)>();
        // The next '}}' / '}}}' at or after the scan point; kept, so a text of many '{{' and one late '}}' stays linear.
        int nextClose = -2, nextRawClose = -2;
        var strayReported = false;
        var segmentStart = 0;
        var i = 0;
        while ((i = text.IndexOf("{{", i, StringComparison.Ordinal)) >= 0)
        {
            if (errors.Count >= MaxErrors)
            {
                state.Stopped = true;
                return;
            }
            var (line, column) = position.At(i);
            if (!strayReported && text.IndexOf("}}", segmentStart, i - segmentStart, StringComparison.Ordinal) is var s and >= 0)
            {
                strayReported = true;
                errors.Add(StrayCloseError(text, part, html, s));
            }
            if (++state.TagCount > state.Limits.MaxTags)
            {
                errors.Add(Error(TemplateErrorCodes.TooManyTags, $"More than {state.Limits.MaxTags:N0} tags; at most {state.Limits.MaxTags:N0} are allowed.",
                    part, line, column, null, ("max", Num(state.Limits.MaxTags))));
                state.Stopped = true;
                return;
            }
            var raw = i + 2 < text.Length && text[i + 2] == '{';
            var open = raw ? "{{{" : "{{";
            var close = raw ? "}}}" : "}}";
            var innerStart = i + open.Length;
            if (!raw && innerStart < text.Length && text[innerStart] == '!')
            {
                // a comment: Handlebars ends {{!-- at --}} and {{! at the first }}; braces inside are text
                var commentEnd = text.AsSpan(innerStart).StartsWith("!--", StringComparison.Ordinal)
                    ? text.IndexOf("--}}", innerStart + 3, StringComparison.Ordinal) is var d and >= 0 ? d + 2 : -1
                    : text.IndexOf("}}", innerStart, StringComparison.Ordinal);
                if (commentEnd < 0)
                {
                    errors.Add(Error(TemplateErrorCodes.Unclosed, "'{{!' is never closed with '}}'.", part, line, column, null, ("open", "{{!"), ("close", "}}")));
                    spans.Add((i, text.Length));
                    break;
                }
                spans.Add((i, commentEnd + 2));
                i = segmentStart = commentEnd + 2;
                continue;
            }
            ref var cached = ref raw ? ref nextRawClose : ref nextClose;
            if (cached != -1 && cached < innerStart)
            {
                cached = text.IndexOf(close, innerStart, StringComparison.Ordinal);
            }
            var end = cached;
            if (end < 0 || (text.AsSpan(innerStart, end - innerStart).IndexOfAny(TagBreakers) >= 0 && !IsFallbackCall(text.AsSpan(innerStart, end - innerStart))))
            {
                // "{{Person.P_Name}" or "{{Person.P_Name｝｝": say what was meant and go on after it
                var bad = BadClose().Match(text, innerStart);
                if (bad.Success && bad.Index == innerStart)
                {
                    var meant = Normalize(bad.Groups["in"].Value);
                    errors.Add(Error(TemplateErrorCodes.Unclosed, $"'{open}' is never closed with '{close}': did you mean {open}{meant}{close}?",
                        part, line, column, null, ("open", open), ("close", close), ("suggestion", open + meant + close)));
                    spans.Add((i, bad.Index + bad.Length));
                    i = segmentStart = bad.Index + bad.Length;
                    continue;
                }
                errors.Add(Error(TemplateErrorCodes.Unclosed, $"'{open}' is never closed with '{close}'.", part, line, column, null, ("open", open), ("close", close)));
                if (end < 0)
                {
                    spans.Add((i, text.Length));
                    break;
                }
                spans.Add((i, innerStart));
                i = segmentStart = innerStart; // the '{{' inside is scanned as a tag of its own
                continue;
            }
            spans.Add((i, end + close.Length));
            var inner = text[innerStart..end].Trim();
            i = segmentStart = end + close.Length;
            if (inner.StartsWith('!'))
            {
                continue; // a comment written "{{ ! … }}"
            }
            var block = BlockOpen().Match(inner);
            if (!raw && block.Success)
            {
                blocks.Push((block.Groups[1].Value, line, column));
                if (blocks.Count > state.Limits.MaxDepth)
                {
                    errors.Add(Error(TemplateErrorCodes.TooDeep, $"Blocks are nested more than {state.Limits.MaxDepth} deep; at most {state.Limits.MaxDepth} are allowed.",
                        part, line, column, null, ("max", Num(state.Limits.MaxDepth))));
                    state.Stopped = true;
                    return;
                }
                state.Tags.Add(new TemplateTag(block.Groups[2].Value, part, line, column, false));
                continue;
            }
            var blockEnd = BlockClose().Match(inner);
            if (!raw && blockEnd.Success)
            {
                var name = blockEnd.Groups[1].Value;
                if (blocks.Count == 0 || blocks.Peek().Name != name)
                {
                    errors.Add(Error(TemplateErrorCodes.StrayClose, $"{{{{/{name}}}}} closes no open {{{{#{name}}}}}.", part, line, column, null, ("close", $"{{{{/{name}}}}}")));
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
                    errors.Add(Error(TemplateErrorCodes.Syntax, "{{else}} is outside {{#if}} … {{/if}}.", part, line, column, null, ("detail", "{{else}} outside a block")));
                }
                continue;
            }
            if (Alias().IsMatch(inner))
            {
                state.Tags.Add(new TemplateTag(inner, part, line, column, raw));
                continue;
            }
            var fallback = DefaultCall().Match(inner);
            if (fallback.Success)
            {
                state.Tags.Add(new TemplateTag(fallback.Groups["alias"].Value, part, line, column, raw,
                    fallback.Groups["dq"].Success ? fallback.Groups["dq"].Value : fallback.Groups["sq"].Value));
                continue;
            }
            errors.Add(inner.Length == 0
                ? Error(TemplateErrorCodes.EmptyTag, $"An empty tag {open}{close}.", part, line, column, null)
                : UnknownTag(inner, part, line, column, state.Suggest.For(inner)));
        }
        if (!strayReported && text.IndexOf("}}", segmentStart, StringComparison.Ordinal) is var stray and >= 0)
        {
            errors.Add(StrayCloseError(text, part, html, stray));
        }
        foreach (var b in blocks)
        {
            errors.Add(Error(TemplateErrorCodes.UnclosedBlock, $"{{{{#{b.Name}}}}} is never closed with {{{{/{b.Name}}}}}.", part, b.Line, b.Column, null, ("block", b.Name)));
        }
        FindNearMisses(text, part, html, spans, state);
    }

    /// <summary>Spellings Handlebars would send as typed: full-width braces, spaced braces, or a single brace pair around
    /// a known alias. Matches inside real tags are not near misses.</summary>
    private static void FindNearMisses(string text, string part, bool html, List<(int Start, int End)> spans, ScanState state)
    {
        var position = new VisiblePosition(text, html);
        var span = 0;
        for (var m = NearMiss().Match(text); m.Success && state.NearMisses.Count < MaxErrors; m = m.NextMatch())
        {
            while (span < spans.Count && spans[span].End <= m.Index)
            {
                span++;
            }
            if (span < spans.Count && spans[span].Start < m.Index + m.Length)
            {
                continue; // overlaps a real tag
            }
            var o = m.Groups["o"].Value;
            var c = m.Groups["c"].Value;
            var inner = Normalize(m.Groups["in"].Value);
            var braces = Braces(o) * 10 + Braces(c);
            var odd = m.Value.AsSpan().IndexOfAny(OddChars) >= 0 || m.Groups["in"].Value != inner;
            var isAlias = Alias().IsMatch(inner);
            var isBlock = !isAlias && (BlockOpen().IsMatch(inner) || BlockClose().IsMatch(inner) || inner == "else");
            var nearMiss = braces switch
            {
                22 => (isAlias || isBlock) && odd,                     // ｛｛Person.P_Name｝｝, { {Person.P_Name} }
                11 => isAlias && state.IsKnown(inner),                 // {Person.P_Name}
                _ => (isAlias && state.IsKnown(inner)) || ((isAlias || isBlock) && odd), // ｛Person.P_Name｝｝
            };
            if (!nearMiss)
            {
                continue;
            }
            var (line, column) = position.At(m.Index);
            var suggestion = isBlock || state.IsKnown(inner) ? "{{" + inner + "}}"
                : state.Suggest.For(inner) is { } nearest ? "{{" + nearest + "}}" : "";
            state.NearMisses.Add(Error(TemplateErrorCodes.NearMissTag,
                $"{m.Value} is not a tag and would be sent as typed" + (suggestion.Length > 0 ? $": did you mean {suggestion}?" : "."),
                part, line, column, inner, ("found", m.Value), ("suggestion", suggestion)));
        }
    }

    /// <summary>A '}}' with no '{{' before it; "{Person.P_Name}}" or "｛｛Person.P_Name}}" say what was meant.
    /// Called once per part (its position walks from the start).</summary>
    private static TemplateError StrayCloseError(string text, string part, bool html, int at)
    {
        var (line, column) = new VisiblePosition(text, html).At(at);
        var from = Math.Max(0, at - 120);
        var open = StrayOpen().Match(text, from, at - from);
        if (open.Success)
        {
            var meant = "{{" + Normalize(open.Groups["in"].Value) + "}}";
            (line, column) = new VisiblePosition(text, html).At(open.Index);
            return Error(TemplateErrorCodes.StrayClose, $"'}}}}' closes no tag: did you mean {meant}?", part, line, column, null, ("close", "}}"), ("suggestion", meant));
        }
        return Error(TemplateErrorCodes.StrayClose, "'}}' closes no tag.", part, line, column, null, ("close", "}}"));
    }

    private static int Braces(string s) => s.Count(ch => ch is '{' or '}' or '｛' or '｝');

    /// <summary>Full-width letters and braces as ASCII, spaces (ideographic, &amp;nbsp;) removed.</summary>
    private static string Normalize(string s) =>
        Spaces().Replace(s.Normalize(NormalizationForm.FormKC), m => m.Index == 0 ? "" : " ").Trim();

    private static TemplateError UnknownTag(string tag, string part, int line, int column, string? suggestion) =>
        Error(TemplateErrorCodes.UnknownTag,
            suggestion is null
                ? $"Unknown tag {{{{{tag}}}}}: tags are field aliases such as {{{{Person.P_Name}}}}."
                : $"Unknown tag {{{{{tag}}}}}: did you mean {{{{{suggestion}}}}}?",
            part, line, column, tag, suggestion is null ? [("tag", tag)] : [("tag", tag), ("suggestion", suggestion)]);

    private static TemplateError Error(string code, string message, string part, int? line, int? column, string? tag, params (string Key, string Value)[] args) =>
        new(code, message, part, line, column, tag) { Args = args.ToDictionary(a => a.Key, a => a.Value) };

    private static string Num(int n) => n.ToString(CultureInfo.InvariantCulture);

    private static string Size(int bytes) => bytes % (1024 * 1024) == 0 ? $"{bytes / (1024 * 1024)} MB" : $"{bytes / 1024.0:0.#} KB";

    /// <summary>Suggests the known tag nearest to an unknown one (edit distance, case-insensitive; a bare field name
    /// gets its resource). At most <see cref="MaxSuggestions"/> distinct tags are looked up.</summary>
    internal sealed class Suggester(IEnumerable<string>? candidates)
    {
        private static readonly string[] ResourceOrder = ["Person", "Resume", "Job", "Client", "Recruiter", "User"];
        private readonly string[] _known = candidates?.ToArray() ?? [];
        private readonly Dictionary<string, string?> _done = new(StringComparer.Ordinal);

        public string? For(string tag)
        {
            if (_known.Length == 0 || tag.Length > 100)
            {
                return null;
            }
            if (_done.TryGetValue(tag, out var s))
            {
                return s;
            }
            if (_done.Count >= MaxSuggestions)
            {
                return null;
            }
            return _done[tag] = Find(Normalize(tag));
        }

        private string? Find(string tag)
        {
            if (!tag.Contains('.'))
            {
                var field = _known.Where(k => k[(k.IndexOf('.') + 1)..].Equals(tag, StringComparison.OrdinalIgnoreCase))
                    .OrderBy(k => Array.IndexOf(ResourceOrder, k[..k.IndexOf('.')]) is var r and >= 0 ? r : ResourceOrder.Length).FirstOrDefault();
                if (field is not null)
                {
                    return field;
                }
            }
            var limit = Math.Max(2, tag.Length / 4);
            string? best = null;
            var bestDistance = int.MaxValue;
            foreach (var k in _known)
            {
                if (Math.Abs(k.Length - tag.Length) > limit)
                {
                    continue;
                }
                var d = Distance(tag, k, Math.Min(limit, bestDistance));
                if (d < bestDistance)
                {
                    (best, bestDistance) = (k, d);
                }
            }
            return bestDistance <= limit ? best : null;
        }

        /// <summary>Levenshtein distance ignoring case, or more than <paramref name="limit"/> when it is beyond it.</summary>
        private static int Distance(string a, string b, int limit)
        {
            var previous = new int[b.Length + 1];
            var current = new int[b.Length + 1];
            for (var j = 0; j <= b.Length; j++)
            {
                previous[j] = j;
            }
            for (var i = 1; i <= a.Length; i++)
            {
                current[0] = i;
                var rowMin = i;
                for (var j = 1; j <= b.Length; j++)
                {
                    var cost = char.ToUpperInvariant(a[i - 1]) == char.ToUpperInvariant(b[j - 1]) ? 0 : 1;
                    current[j] = Math.Min(Math.Min(previous[j] + 1, current[j - 1] + 1), previous[j - 1] + cost);
                    rowMin = Math.Min(rowMin, current[j]);
                }
                if (rowMin > limit)
                {
                    return limit + 1;
                }
                (previous, current) = (current, previous);
            }
            return previous[b.Length];
        }
    }

    private static readonly System.Buffers.SearchValues<char> TagBreakers = System.Buffers.SearchValues.Create("{}｛｝<>\r\n");
    // A fallback's quoted text may hold '<' and '>' (written escaped in the body); braces and line breaks still end a tag.
    private static readonly System.Buffers.SearchValues<char> FallbackBreakers = System.Buffers.SearchValues.Create("{}｛｝\r\n");

    private static bool IsFallbackCall(ReadOnlySpan<char> inner) =>
        inner.IndexOfAny(FallbackBreakers) < 0 && DefaultCall().IsMatch(inner.Trim());

    private static readonly System.Buffers.SearchValues<char> OddChars = System.Buffers.SearchValues.Create("｛｝ \u3000\u00a0&");

    [GeneratedRegex(@"^[A-Za-z][A-Za-z0-9]*\.[A-Za-z][A-Za-z0-9_]*$")]
    private static partial Regex Alias();

    // {{default Person.P_Name "ご担当者様"}} (or 'single quotes'); the text cannot hold its own quote.
    [GeneratedRegex(@"^default\s+(?<alias>[A-Za-z][A-Za-z0-9]*\.[A-Za-z][A-Za-z0-9_]*)\s+(?:""(?<dq>[^""]*)""|'(?<sq>[^']*)')$")]
    private static partial Regex DefaultCall();

    [GeneratedRegex(@"^#(if|unless)\s+([A-Za-z][A-Za-z0-9]*\.[A-Za-z][A-Za-z0-9_]*)$")]
    private static partial Regex BlockOpen();

    [GeneratedRegex(@"^/(if|unless)$")]
    private static partial Regex BlockClose();

    // After '{{': an alias-like text closed by a single '}' or by full-width / spaced braces.
    [GeneratedRegex(@"\G[ \t\u3000]*(?<in>[#/]?[A-Za-zＡ-Ｚａ-ｚ][A-Za-z0-9_.＿．Ａ-Ｚａ-ｚ０-９ ]{0,100}?)[ \t\u3000]*(?:\}(?!\})|｝[ \t\u3000]*[}｝]|\}[ \t\u3000]+[}｝]|\}[ \t\u3000]*｝)")]
    private static partial Regex BadClose();

    [GeneratedRegex(@"[{｛](?:[ \t\u3000\u00a0]|&nbsp;)*[{｛]?(?:[ \t\u3000\u00a0]|&nbsp;)*(?<in>[A-Za-zＡ-Ｚａ-ｚ][A-Za-z0-9_.＿．Ａ-Ｚａ-ｚ０-９]{0,100})(?:[ \t\u3000\u00a0]|&nbsp;)*$")]
    private static partial Regex StrayOpen();

    [GeneratedRegex(@"(?<o>[{｛](?:[ \t\u3000\u00a0]|&nbsp;)*[{｛]?)(?:[ \t\u3000\u00a0]|&nbsp;)*(?<in>[#/]?[A-Za-zＡ-Ｚａ-ｚ＃／][^{}｛｝<>\r\n]{0,100}?)(?:[ \t\u3000\u00a0]|&nbsp;)*(?<c>[}｝](?:(?:[ \t\u3000\u00a0]|&nbsp;)*[}｝])?)")]
    private static partial Regex NearMiss();

    [GeneratedRegex(@"(?:[\s\u3000\u00a0]|&nbsp;)+")]
    private static partial Regex Spaces();

    [GeneratedRegex(@"<(?:[A-Za-z]|/[A-Za-z]|!--)")]
    private static partial Regex HtmlTag();

    [GeneratedRegex(@"[\r\n\t\u000B\u000C\u0085\u2028\u2029]+")]
    private static partial Regex LineBreaks();

    [GeneratedRegex(@"[\u0000-\u001F\u007F-\u009F]")]
    private static partial Regex OtherControls();
}

/// <summary>
/// Line and column as the reader sees them, advanced monotonically (one pass over the text for all positions). In an
/// HTML body, lines are what the editor shows: <c>&lt;br&gt;</c> breaks a line, block elements (<c>p</c>, <c>div</c>,
/// <c>li</c>, <c>tr</c>, headings …) start and end one (collapsed, as the browser does), source newlines and runs of
/// spaces are one space, markup is not counted and an entity is one character. Otherwise each <c>\n</c> is a line.
/// </summary>
internal sealed partial class VisiblePosition(string text, bool html)
{
    private static readonly HashSet<string> Blocks = new(StringComparer.OrdinalIgnoreCase)
    {
        "p", "div", "li", "ul", "ol", "tr", "table", "thead", "tbody", "tfoot", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre",
        "hr", "section", "article", "header", "footer", "nav", "aside", "address", "figure", "figcaption", "form", "fieldset", "dl", "dt", "dd",
        "main", "details", "summary", "caption",
    };

    private static readonly HashSet<string> Hidden = new(StringComparer.OrdinalIgnoreCase) { "style", "script", "head", "title", "template" };

    private int _index;
    private int _line = 1;
    private int _column; // visible characters before the point on its line
    private bool _lineHasText;
    private bool _lastSpace;
    private bool _inTag;
    private char _quote;
    private int _tagStart;
    private int _entityEnd;
    private string? _skipUntil; // "-->" in a comment, "</style" … in an element whose text is not shown

    /// <summary>The 1-based line and column of <paramref name="offset"/>; offsets must not decrease between calls.</summary>
    public (int Line, int Column) At(int offset)
    {
        while (_index < offset && _index < text.Length)
        {
            Step();
        }
        return (_line, _column + 1);
    }

    private void Step()
    {
        var c = text[_index];
        if (_skipUntil is not null)
        {
            if (text.AsSpan(_index).StartsWith(_skipUntil, StringComparison.OrdinalIgnoreCase))
            {
                if (_skipUntil == "-->")
                {
                    _index += 3;
                    _skipUntil = null;
                    return;
                }
                _skipUntil = null; // the closing tag is read as a tag
                return;
            }
            _index++;
            return;
        }
        if (_inTag)
        {
            if (_quote != '\0')
            {
                _quote = c == _quote ? '\0' : _quote;
            }
            else if (c is '"' or '\'')
            {
                _quote = c;
            }
            else if (c == '>')
            {
                EndTag();
            }
            _index++;
            return;
        }
        if (html && c == '<' && _index + 1 < text.Length && (char.IsAsciiLetter(text[_index + 1]) || text[_index + 1] is '/' or '!'))
        {
            if (text.AsSpan(_index).StartsWith("<!--", StringComparison.Ordinal))
            {
                _skipUntil = "-->";
                _index += 4;
                return;
            }
            _inTag = true;
            _tagStart = _index;
            _index++;
            return;
        }
        if (_index < _entityEnd)
        {
            _index++; // the rest of an entity such as &amp;amp; (its first character was counted)
            return;
        }
        _index++;
        if (html)
        {
            if (c is ' ' or '\t' or '\n' or '\r' or '\f')
            {
                if (_lineHasText && !_lastSpace)
                {
                    _column++;
                    _lastSpace = true;
                }
                return;
            }
            if (c == '&' && Entity().Match(text, _index) is { Success: true } entity && entity.Index == _index)
            {
                _entityEnd = _index + entity.Length;
            }
        }
        else if (c == '\n')
        {
            NewLine();
            return;
        }
        else if (c == '\r')
        {
            return;
        }
        if (!char.IsLowSurrogate(c))
        {
            _column++;
        }
        _lineHasText = true;
        _lastSpace = false;
    }

    private void EndTag()
    {
        _inTag = false;
        var k = _tagStart + 1;
        var closing = k < text.Length && text[k] == '/';
        if (closing)
        {
            k++;
        }
        var start = k;
        while (k < text.Length && char.IsAsciiLetterOrDigit(text[k]))
        {
            k++;
        }
        var name = text[start..k];
        if (name.Equals("br", StringComparison.OrdinalIgnoreCase))
        {
            NewLine();
        }
        else if (Blocks.Contains(name))
        {
            if (_lineHasText)
            {
                NewLine();
            }
        }
        else if (!closing && Hidden.Contains(name))
        {
            _skipUntil = "</" + name;
        }
    }

    private void NewLine()
    {
        _line++;
        _column = 0;
        _lineHasText = false;
        _lastSpace = false;
    }

    [GeneratedRegex(@"\G(?:#[0-9]{1,7}|#x[0-9A-Fa-f]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")]
    private static partial Regex Entity();
}
