using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Text;
using System.Text.Json;
using BulkMail.Api.Auth;
using BulkMail.Api.Infrastructure;
using CsvHelper;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace BulkMail.Api.Suppressions;

/// <summary>The <c>Suppressions</c> section: what one POST may carry.</summary>
public sealed class SuppressionOptions
{
    public const string Section = "Suppressions";

    /// <summary>Largest request body of <c>POST /api/suppressions</c> (JSON or CSV).</summary>
    [Range(1024, 50 * 1024 * 1024)]
    public int MaxImportBytes { get; set; } = 2 * 1024 * 1024;

    /// <summary>Most addresses one POST may add.</summary>
    [Range(1, 100_000)]
    public int MaxImportCount { get; set; } = 10_000;
}

/// <summary>The body of <c>POST /api/suppressions</c> as JSON: one address (with a reason) or several.</summary>
public sealed record SuppressionRequest
{
    public string? Address { get; init; }
    public string? Reason { get; init; }
    public IReadOnlyList<string>? Addresses { get; init; }
}

/// <summary>What a POST did: <see cref="Added"/> new entries, <see cref="AlreadyListed"/> addresses that were on the list
/// already (kept as they were).</summary>
public sealed record SuppressionAddResponse(int Added, int AlreadyListed);

/// <summary>The tenant's suppression list over HTTP (docs/opt-out.md): list (paged, filtered, CSV export), add (one, many,
/// CSV import — all or nothing), delete. Every signed-in user of the tenant sees and edits the same list.</summary>
public static class SuppressionsApi
{
    public const int DefaultCount = 100;
    public const int MaxCount = 500;
    public static readonly IReadOnlyList<string> CsvColumns = ["Address", "Code", "Reason", "AddedAt", "MailingId", "Source"];

    public static RouteGroupBuilder MapSuppressionsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/suppressions").WithTags("Suppressions").RequireAuthorization();
        group.MapGet("/", ListAsync).WithSummary("The tenant's suppression list, a page at a time (?cursor=&count=&q=), or all of it as CSV (?format=csv)")
            .Produces<SuppressionPage>().Produces(StatusCodes.Status200OK, contentType: "text/csv");
        group.MapPost("/", AddAsync).WithSummary("Adds { address, reason }, { addresses: [...] } or a text/csv file; nothing is stored when a line is bad")
            .Accepts<SuppressionRequest>("application/json", "text/csv").Produces<SuppressionAddResponse>()
            .RequireRateLimiting(RateLimits.SuppressionWrites);
        group.MapDelete("/{address}", DeleteAsync).WithSummary("Removes an address from the list: 204; 404 when it is not on it")
            .RequireRateLimiting(RateLimits.SuppressionWrites);
        return group;
    }

    public static async Task<IResult> ListAsync(HttpContext http, ISuppressionList list, TimeProvider time, string? cursor, int? count, string? q, string? format,
        CancellationToken cancellationToken)
    {
        var tenant = http.User.Sender().Tenant;
        var filter = string.IsNullOrWhiteSpace(q) ? null : q.Trim().ToLowerInvariant();
        if (string.Equals(format, "csv", StringComparison.OrdinalIgnoreCase))
        {
            var name = $"suppressions_{time.GetUtcNow():yyyyMMdd-HHmmss}.csv";
            return Results.Stream(output => WriteCsvAsync(output, list, tenant, filter, cancellationToken), "text/csv; charset=utf-8", name);
        }
        var errors = new Dictionary<string, CodedText[]>();
        var n = count ?? DefaultCount;
        if (n is < 1 or > MaxCount)
        {
            errors["count"] = [CodedText.Of(ProblemCode.NumberOutOfRange, ("name", "count"), ("min", 1), ("max", MaxCount))];
        }
        string? after = null;
        if (!string.IsNullOrEmpty(cursor) && (after = Cursor.Read(cursor)) is null)
        {
            errors["cursor"] = [CodedText.Of(ProblemCode.SuppressionCursorInvalid)];
        }
        if (filter is { Length: > SuppressionAddress.MaxLength })
        {
            errors["q"] = [CodedText.Of(ProblemCode.KeywordsTooLong, ("max", SuppressionAddress.MaxLength))];
        }
        if (errors.Count > 0)
        {
            return Problems.Validation(ProblemCode.ValidationFailed, errors);
        }
        var page = await list.ListAsync(tenant, after, n, filter, cancellationToken).ConfigureAwait(false);
        return TypedResults.Ok(page with { NextCursor = page.NextCursor is null ? null : Cursor.Of(page.NextCursor) });
    }

    private static async Task WriteCsvAsync(Stream output, ISuppressionList list, string tenant, string? filter, CancellationToken cancellationToken)
    {
        await using var writer = CsvWriter.Create(output, CsvCells.WriterOptions, leaveOpen: true);
        writer.WriteHeader([.. CsvColumns]);
        string? after = null;
        do
        {
            var page = await list.ListAsync(tenant, after, MaxCount, filter, cancellationToken).ConfigureAwait(false);
            foreach (var s in page.Items)
            {
                await writer.WriteRecordAsync(CsvCells.Neutralize(
                [
                    s.Address, s.Code.ToString(), s.Reason ?? "", s.AddedAt.ToString("O", CultureInfo.InvariantCulture), s.MailingId ?? "", s.Source ?? "",
                ]), cancellationToken).ConfigureAwait(false);
            }
            await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
            after = page.NextCursor;
        }
        while (after is not null);
    }

    public static async Task<IResult> AddAsync(HttpContext http, ISuppressionList list, IOptions<SuppressionOptions> options, TimeProvider time,
        CancellationToken cancellationToken)
    {
        var o = options.Value;
        var tenant = http.User.Sender().Tenant;
        var mediaType = http.Request.ContentType?.Split(';')[0].Trim().ToLowerInvariant();
        if (mediaType is not ("application/json" or "text/csv"))
        {
            return Problems.Of(StatusCodes.Status415UnsupportedMediaType, ProblemCode.ContentTypeUnsupported,
                ("field", "body"));
        }
        if (http.Request.ContentLength > o.MaxImportBytes)
        {
            return Problems.Of(StatusCodes.Status413PayloadTooLarge, ProblemCode.SuppressionImportTooLarge, ("max", o.MaxImportBytes));
        }
        var body = await ReadBodyAsync(http.Request.Body, o.MaxImportBytes, cancellationToken).ConfigureAwait(false);
        if (body is null)
        {
            return Problems.Of(StatusCodes.Status413PayloadTooLarge, ProblemCode.SuppressionImportTooLarge, ("max", o.MaxImportBytes));
        }
        var now = time.GetUtcNow();
        var (entries, errors) = mediaType == "text/csv" ? ParseCsv(body, now) : ParseJson(body, now);
        if (errors.Count == 0 && entries.Count == 0)
        {
            errors["body"] = [CodedText.Of(ProblemCode.SuppressionImportEmpty)];
        }
        if (errors.Count == 0 && entries.Count > o.MaxImportCount)
        {
            errors["body"] = [CodedText.Of(ProblemCode.SuppressionImportTooMany, ("max", o.MaxImportCount), ("count", entries.Count))];
        }
        if (errors.Count > 0)
        {
            return Problems.Validation(ProblemCode.ValidationFailed, errors);
        }
        var distinct = entries.DistinctBy(e => e.Address, StringComparer.Ordinal).ToList();
        var added = await list.AddManyAsync(tenant, distinct, cancellationToken).ConfigureAwait(false);
        return TypedResults.Ok(new SuppressionAddResponse(added, distinct.Count - added));
    }

    public static async Task<IResult> DeleteAsync(string address, HttpContext http, ISuppressionList list, CancellationToken cancellationToken)
    {
        var normalized = SuppressionAddress.Normalize(address);
        if (normalized is null)
        {
            return Problems.Validation(ProblemCode.ValidationFailed, new Dictionary<string, CodedText[]>
            {
                ["address"] = [CodedText.Of(ProblemCode.SuppressionAddressInvalid, ("value", address))],
            });
        }
        return await list.RemoveAsync(http.User.Sender().Tenant, normalized, cancellationToken).ConfigureAwait(false)
            ? TypedResults.NoContent()
            : Problems.Of(StatusCodes.Status404NotFound, ProblemCode.SuppressionNotFound, ("address", normalized));
    }

    /// <summary>The body as text, or null beyond <paramref name="max"/> bytes (a body without Content-Length is read to
    /// the limit and no further).</summary>
    private static async Task<string?> ReadBodyAsync(Stream body, int max, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await body.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > max)
            {
                return null;
            }
            buffer.Write(chunk, 0, read);
        }
        return new UTF8Encoding(false, false).GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private static (List<Suppression> Entries, Dictionary<string, CodedText[]> Errors) ParseJson(string body, DateTimeOffset now)
    {
        var errors = new Dictionary<string, CodedText[]>();
        var entries = new List<Suppression>();
        SuppressionRequest? request;
        try
        {
            request = JsonSerializer.Deserialize<SuppressionRequest>(body, StoreJson.Options);
        }
        catch (JsonException e)
        {
            errors["body"] = [new CodedText(ProblemCode.BadRequest.ToString(), new Dictionary<string, string>()) { English = "The body is not valid JSON: " + e.Message }];
            return (entries, errors);
        }
        if (request is null)
        {
            return (entries, errors);
        }
        if (request.Reason is { Length: > SuppressionAddress.MaxReasonLength })
        {
            errors["reason"] = [CodedText.Of(ProblemCode.SuppressionReasonTooLong, ("max", SuppressionAddress.MaxReasonLength))];
        }
        void Add(string field, string? value)
        {
            if (SuppressionAddress.Normalize(value) is { } address)
            {
                entries.Add(new Suppression(address, request.Reason, SuppressionCode.Manual, now, null, "api"));
            }
            else
            {
                errors[field] = [CodedText.Of(ProblemCode.SuppressionAddressInvalid, ("value", value ?? ""))];
            }
        }
        if (request.Address is not null)
        {
            Add("address", request.Address);
        }
        for (var i = 0; i < (request.Addresses?.Count ?? 0); i++)
        {
            Add($"addresses[{i}]", request.Addresses![i]);
        }
        return (entries, errors);
    }

    /// <summary>A CSV import: the export's columns (Address, Code, Reason, AddedAt, MailingId, Source: an exported file
    /// imports as it was), or without a header the address first and an optional reason second. Every bad line is
    /// reported with its line number under <c>body</c>.</summary>
    private static (List<Suppression> Entries, Dictionary<string, CodedText[]> Errors) ParseCsv(string body, DateTimeOffset now)
    {
        var entries = new List<Suppression>();
        var bad = new List<CodedText>();
        int address = 0, reason = 1, code = -1, addedAt = -1, mailingId = -1, source = -1;
        var first = true;
        foreach (var (line, cells) in CsvCells.Read(body))
        {
            if (first)
            {
                first = false;
                var header = cells.Select(c => c.Trim().ToLowerInvariant()).ToList();
                if (header.Contains("address") || header.Contains("メールアドレス"))
                {
                    int Of(params string[] names) => header.FindIndex(names.Contains);
                    (address, reason, code, addedAt, mailingId, source) = (Of("address", "メールアドレス"), Of("reason", "理由"), Of("code"),
                        Of("addedat"), Of("mailingid"), Of("source"));
                    continue;
                }
            }
            string? Cell(int i) => i >= 0 && i < cells.Count && CsvCells.Restore(cells[i].Trim()) is { Length: > 0 } v ? v : null;
            var value = Cell(address);
            if (bad.Count >= 100)
            {
                continue; // enough to fix; the rest is not reported one by one
            }
            if (SuppressionAddress.Normalize(value) is not { } normalized)
            {
                bad.Add(CodedText.Of(ProblemCode.SuppressionImportLineInvalid, ("line", line), ("value", value ?? "")));
                continue;
            }
            var why = Cell(reason);
            if (why is { Length: > SuppressionAddress.MaxReasonLength })
            {
                bad.Add(CodedText.Of(ProblemCode.SuppressionReasonTooLong, ("line", line), ("max", SuppressionAddress.MaxReasonLength)));
                continue;
            }
            entries.Add(new Suppression(normalized, why,
                Enum.TryParse<SuppressionCode>(Cell(code), ignoreCase: false, out var c) && Enum.IsDefined(c) ? c : SuppressionCode.Imported,
                DateTimeOffset.TryParse(Cell(addedAt), CultureInfo.InvariantCulture, DateTimeStyles.None, out var t) ? t : now,
                Cell(mailingId), Cell(source) ?? "import"));
        }
        var errors = new Dictionary<string, CodedText[]>();
        if (bad.Count > 0)
        {
            errors["body"] = [.. bad];
        }
        return (entries, errors);
    }

    /// <summary>Page cursors: the last address of the page, base64url (opaque to clients).</summary>
    private static class Cursor
    {
        public static string Of(string address) => Convert.ToBase64String(Encoding.UTF8.GetBytes(address)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

        public static string? Read(string cursor)
        {
            try
            {
                var s = cursor.Replace('-', '+').Replace('_', '/');
                s += new string('=', (4 - s.Length % 4) % 4);
                var address = new UTF8Encoding(false, true).GetString(Convert.FromBase64String(s));
                return SuppressionAddress.Normalize(address) == address ? address : null;
            }
            catch (Exception e) when (e is FormatException or DecoderFallbackException)
            {
                return null;
            }
        }
    }
}
