using System.Text.Json;
using Microsoft.AspNetCore.Mvc;

namespace BulkMail.Api.Infrastructure;

/// <summary>
/// The problem for a request the framework could not bind: malformed or mistyped JSON (named by its JSON path),
/// no or the wrong content type, a missing or oversized body. Never the exception's own text: it names .NET types.
/// </summary>
public static class BadRequestProblems
{
    public const string Type = "https://bulkmail.example/problems/invalid-request";

    public static HttpValidationProblemDetails Of(BadHttpRequestException e)
    {
        var json = FindJson(e);
        var status = e.StatusCode is >= 400 and < 500 ? e.StatusCode : StatusCodes.Status400BadRequest;
        string field, code, message;
        var args = new Dictionary<string, string>();
        if (json is not null)
        {
            field = FieldOf(json.Path);
            args["path"] = field;
            if (json.LineNumber is { } line)
            {
                args["line"] = (line + 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
            }
            if (json.BytePositionInLine is { } position)
            {
                args["position"] = (position + 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
            }
            (code, message) = Classify(json, field);
            status = StatusCodes.Status400BadRequest;
        }
        else if (status == StatusCodes.Status415UnsupportedMediaType)
        {
            (field, code, message) = ("$", "ContentTypeUnsupported", "Send the body as JSON with Content-Type: application/json.");
        }
        else if (status == StatusCodes.Status413PayloadTooLarge)
        {
            (field, code, message) = ("$", "BodyTooLarge", "The request body is larger than this server accepts.");
        }
        else if (e.Message.Contains("no body was provided", StringComparison.OrdinalIgnoreCase) || e.Message.Contains("was not provided", StringComparison.OrdinalIgnoreCase))
        {
            (field, code, message) = ("$", "BodyMissing", "The request needs a JSON body.");
        }
        else
        {
            (field, code, message) = ("$", "RequestInvalid", "The request could not be read.");
        }
        var problem = new HttpValidationProblemDetails(new Dictionary<string, string[]> { [field] = [message] })
        {
            Status = status,
            Title = "The request could not be read; nothing was stored.",
            Detail = message,
            Type = Type,
        };
        args.TryAdd("path", field);
        problem.Extensions["code"] = code;
        problem.Extensions["args"] = args;
        problem.Extensions["fieldCodes"] = new Dictionary<string, object[]> { [field] = [new { code, args }] };
        return problem;
    }

    private static (string Code, string Message) Classify(JsonException json, string field)
    {
        var inner = json.InnerException?.Message ?? "";
        var text = json.Message;
        if (text.Contains("maximum configured depth", StringComparison.OrdinalIgnoreCase) || inner.Contains("maximum configured depth", StringComparison.OrdinalIgnoreCase))
        {
            return ("JsonTooDeep", $"The JSON is nested too deeply at {field}.");
        }
        if (text.StartsWith("Expected one of ", StringComparison.Ordinal))
        {
            // StrictEnumConverter's own message: the allowed names, nothing internal.
            return ("JsonNotAllowedValue", $"{field}: {text.TrimEnd('.')}.");
        }
        if (text.Contains("could not be converted", StringComparison.OrdinalIgnoreCase) || json.InnerException is FormatException or InvalidOperationException or OverflowException)
        {
            return ("JsonWrongType", $"{field} has a value of the wrong type or out of range.");
        }
        return ("JsonSyntax", $"The body is not valid JSON (at {field}).");
    }

    /// <summary>"$.scope.ids[2]" → "scope.ids[2]", the way validation problems name fields; the root stays "$".</summary>
    public static string FieldOf(string? path) =>
        string.IsNullOrEmpty(path) || path == "$" ? "$"
        : path.StartsWith("$.", StringComparison.Ordinal) ? path[2..]
        : path.StartsWith('$') ? path[1..]
        : path;

    private static JsonException? FindJson(Exception e)
    {
        for (var x = e.InnerException; x is not null; x = x.InnerException)
        {
            if (x is JsonException j)
            {
                return j;
            }
        }
        return null;
    }
}
