using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace BulkMail.Api.Infrastructure;

/// <summary>
/// Problem details with codes: every problem the API answers carries the extensions <c>code</c> (a
/// <see cref="ProblemCode"/>) and <c>args</c> beside the English <c>title</c>/<c>detail</c>; validation problems add
/// <c>fieldCodes</c> (JSON path → [{code, args}]) beside the standard English <c>errors</c>; template errors carry
/// <c>code</c> and <c>args</c>. A client that asks for Japanese (<c>Accept-Language: ja</c>; the task pane sends its UI
/// language) gets title, detail, field errors and template messages from <see cref="ServerText"/> by code.
/// </summary>
public static class Problems
{
    /// <summary>A problem whose detail is the sentence of <paramref name="code"/> and whose title is the code's title.</summary>
    public static ProblemHttpResult Of(int status, ProblemCode code, params (string Name, object? Value)[] args) =>
        Of(status, CodedText.Of(code, args));

    public static ProblemHttpResult Of(int status, CodedText detail) =>
        TypedResults.Problem(statusCode: status, detail: detail.English,
            title: ServerText.TryParse<ProblemCode>(detail.Code) is { } c ? ServerText.Title(c, japanese: false) : null,
            extensions: Extensions(detail));

    /// <summary>A 400 validation problem: English messages in <c>errors</c>, their codes in <c>fieldCodes</c>.</summary>
    public static ValidationProblem Validation(ProblemCode title, IDictionary<string, CodedText[]> errors) =>
        TypedResults.ValidationProblem(errors.ToDictionary(e => e.Key, e => e.Value.Select(x => x.English).ToArray()),
            title: ServerText.Title(title, japanese: false),
            extensions: new Dictionary<string, object?> { ["code"] = title.ToString(), ["args"] = NoArgs, ["fieldCodes"] = errors });

    public static Dictionary<string, object?> Extensions(CodedText text) => new() { ["code"] = text.Code, ["args"] = text.Args };

    private static readonly IReadOnlyDictionary<string, string> NoArgs = new Dictionary<string, string>();

    /// <summary>Whether the client prefers Japanese: the first language of Accept-Language.</summary>
    public static bool WantsJapanese(HttpContext http)
    {
        var header = http.Request.Headers.AcceptLanguage.ToString();
        if (string.IsNullOrWhiteSpace(header))
        {
            return false;
        }
        var best = header.Split(',').Select(p => p.Split(';')).Select(p => (Tag: p[0].Trim(), Q: QualityOf(p)))
            .OrderByDescending(p => p.Q).FirstOrDefault();
        return best.Tag.StartsWith("ja", StringComparison.OrdinalIgnoreCase);
    }

    private static double QualityOf(string[] parts) =>
        parts.Skip(1).Select(p => p.Trim()).FirstOrDefault(p => p.StartsWith("q=", StringComparison.Ordinal)) is { } q
        && double.TryParse(q[2..], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var v) ? v : 1.0;

    /// <summary>The default code of a problem made without one (framework errors, status code pages).</summary>
    public static ProblemCode CodeOfStatus(int? status) => status switch
    {
        400 => ProblemCode.BadRequest,
        401 => ProblemCode.Unauthorized,
        403 => ProblemCode.Forbidden,
        404 => ProblemCode.NotFound,
        405 => ProblemCode.MethodNotAllowed,
        409 => ProblemCode.Conflict,
        413 => ProblemCode.PayloadTooLarge,
        415 => ProblemCode.UnsupportedMediaType,
        429 => ProblemCode.TooManyRequests,
        500 => ProblemCode.InternalError,
        502 => ProblemCode.BadGateway,
        503 => ProblemCode.ServiceUnavailable,
        504 => ProblemCode.GatewayTimeout,
        _ => ProblemCode.HttpError,
    };

    /// <summary>Completes every problem (code, args, template error args) and translates it when Japanese is asked for.</summary>
    public static void Apply(ProblemDetailsContext context)
    {
        var p = context.ProblemDetails;
        var hasCode = p.Extensions.TryGetValue("code", out var c) && c is not null;
        var code = hasCode ? c!.ToString() : null;
        if (!hasCode)
        {
            var byStatus = CodeOfStatus(p.Status);
            code = byStatus.ToString();
            p.Extensions["code"] = code;
            p.Extensions["args"] = byStatus == ProblemCode.HttpError
                ? new Dictionary<string, string> { ["status"] = (p.Status ?? 0).ToString(System.Globalization.CultureInfo.InvariantCulture) }
                : NoArgs;
        }
        var args = ArgsOf((p.Extensions.TryGetValue("args", out var a) ? a : null));
        p.Extensions["args"] = args;
        var japanese = WantsJapanese(context.HttpContext);
        if (p.Extensions.TryGetValue("details", out var details) && details is not null)
        {
            p.Extensions["details"] = CompleteTemplateErrors(details, japanese);
        }
        if (!japanese)
        {
            return;
        }
        if (ServerText.TryParse<ProblemCode>(code) is { } known)
        {
            var sentence = ServerText.Format(known, args, japanese: true);
            if (ServerText.Title(known, japanese: true) is { } title)
            {
                p.Title = title;
            }
            else if (!hasCode)
            {
                // a problem by status alone: its sentence is the title (the framework's detail, if any, stays)
                p.Title = sentence;
            }
            if (hasCode && p.Detail is not null)
            {
                p.Detail = sentence;
            }
        }
        if (p is HttpValidationProblemDetails v && p.Extensions.TryGetValue("fieldCodes", out var fc) && fc is { } fieldCodes)
        {
            var codes = FieldCodesOf(fieldCodes);
            foreach (var key in v.Errors.Keys.ToList())
            {
                if (codes.TryGetValue(key, out var list) && list.Count == v.Errors[key].Length)
                {
                    v.Errors[key] = [.. list.Select((x, i) => Sentence(x.Code, x.Args, japanese: true) ?? v.Errors[key][i])];
                }
            }
        }
        context.HttpContext.Response.Headers.ContentLanguage = "ja";
    }

    /// <summary>The sentence of a problem or template code (the two sets share no names).</summary>
    public static string? Sentence(string? code, IReadOnlyDictionary<string, string>? args, bool japanese) =>
        ServerText.Format<ProblemCode>(code, args, japanese) ?? ServerText.Format<TemplateErrorCode>(code, args, japanese);

    private static IReadOnlyDictionary<string, string> ArgsOf(object? value)
    {
        switch (value)
        {
            case null:
                return NoArgs;
            case IReadOnlyDictionary<string, string> d:
                return d;
            case IDictionary<string, string> d:
                return d.ToDictionary();
        }
        // anything else (an anonymous object, a dictionary of objects, JSON): its properties as strings
        var node = value as JsonNode ?? JsonSerializer.SerializeToNode(value, JsonSerializerOptions.Web);
        return node is JsonObject o
            ? o.Where(kv => kv.Value is not null).ToDictionary(kv => kv.Key, kv => kv.Value is JsonValue jv && jv.TryGetValue<string>(out var s) ? s : kv.Value!.ToJsonString())
            : NoArgs;
    }

    private static Dictionary<string, List<CodedText>> FieldCodesOf(object value)
    {
        if (value is IDictionary<string, CodedText[]> typed)
        {
            return typed.ToDictionary(kv => kv.Key, kv => kv.Value.ToList());
        }
        var node = value as JsonNode ?? JsonSerializer.SerializeToNode(value, JsonSerializerOptions.Web);
        var result = new Dictionary<string, List<CodedText>>();
        if (node is JsonObject o)
        {
            foreach (var (key, list) in o)
            {
                result[key] = [.. (list as JsonArray ?? []).OfType<JsonObject>()
                    .Select(x => new CodedText(x["code"]?.ToString() ?? "", ArgsOf(x["args"])))];
            }
        }
        return result;
    }

    /// <summary>Template errors get <c>args</c> (part, line, column, tag and any of their own); in Japanese, their
    /// message comes from the table by code.</summary>
    private static object CompleteTemplateErrors(object details, bool japanese)
    {
        var node = JsonSerializer.SerializeToNode(details, JsonSerializerOptions.Web);
        if (node?["templateErrors"] is not JsonArray errors)
        {
            return details;
        }
        foreach (var e in errors.OfType<JsonObject>())
        {
            var args = new Dictionary<string, string>(ArgsOf(e["args"]));
            foreach (var name in new[] { "part", "line", "column", "tag" })
            {
                if (e[name] is JsonValue v && !args.ContainsKey(name))
                {
                    args[name] = v.TryGetValue<string>(out var s) ? s : v.ToJsonString();
                }
            }
            e["args"] = JsonSerializer.SerializeToNode(args, JsonSerializerOptions.Web);
            if (japanese && ServerText.Format<TemplateErrorCode>(e["code"]?.ToString(), args, japanese: true) is { } ja)
            {
                e["message"] = ja;
            }
        }
        return node;
    }
}
