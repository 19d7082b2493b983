using BulkMail.Api.Infrastructure;
using BulkMail.Api.Auth;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace BulkMail.Api.Uploads;

/// <summary><c>POST /api/uploads</c>: one file per request (multipart, field <c>file</c>) → <c>{ id, name, size }</c>.</summary>
public static class UploadsApi
{
    public static RouteGroupBuilder MapUploadsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/uploads").WithTags("Uploads").RequireAuthorization();
        group.MapPost("/", UploadAsync).DisableAntiforgery().RequireRateLimiting(Infrastructure.RateLimits.Uploads)
            .WithSummary("Uploads one attachment (multipart/form-data, field `file`); it is kept for a day for the next mailing");
        return group;
    }

    public static async Task<Results<Created<UploadInfo>, ProblemHttpResult>> UploadAsync(HttpContext http, IUploadStore uploads,
        IOptions<UploadOptions> options, CancellationToken cancellationToken)
    {
        var max = options.Value.MaxFileBytes;
        // Room for the multipart framing; anything bigger is refused before it is read.
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = max + 1024 * 1024;
        }
        if (http.Request.ContentLength > max + 1024 * 1024)
        {
            return TooLarge(max);
        }
        if (!http.Request.HasFormContentType)
        {
            return Problems.Of(StatusCodes.Status400BadRequest, ProblemCode.NotMultipart);
        }
        IFormCollection form;
        try
        {
            form = await http.Request.ReadFormAsync(new FormOptions { MultipartBodyLengthLimit = max + 1024 * 1024 }, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge }
            || (e is InvalidDataException && e.Message.Contains("body length limit", StringComparison.OrdinalIgnoreCase)))
        {
            return TooLarge(max);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or BadHttpRequestException && !cancellationToken.IsCancellationRequested)
        {
            // A boundary that differs from the header's, a truncated part, headers past the limits: the client's framing.
            return TypedResults.Problem(title: "The multipart body is malformed",
                detail: "The body could not be read as multipart/form-data (check the boundary and the part headers). POST one file in the form field `file`.",
                statusCode: StatusCodes.Status400BadRequest,
                extensions: new Dictionary<string, object?> { ["code"] = "MultipartMalformed", ["args"] = new Dictionary<string, string> { ["field"] = "file" } });
        }
        var file = form.Files.GetFile("file") ?? (form.Files.Count == 1 ? form.Files[0] : null);
        if (file is null)
        {
            return Problems.Of(StatusCodes.Status400BadRequest, ProblemCode.NoFile);
        }
        if (file.Length > max)
        {
            return TooLarge(max);
        }
        if (file.Length == 0)
        {
            return Problems.Of(StatusCodes.Status400BadRequest, ProblemCode.FileEmpty, ("file", file.FileName));
        }
        // The name as Windows will show it (AttachmentRules.Normalize) is what is checked and stored.
        var name = AttachmentRules.Normalize(Path.GetFileName(file.FileName));
        if (AttachmentRules.Refuse(name) is { } refusal)
        {
            return Refused(refusal);
        }
        using var buffer = new MemoryStream((int)file.Length);
        await file.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
        var bytes = buffer.ToArray();
        if (AttachmentRules.RefuseContent(name, bytes) is { } program)
        {
            return Refused(program);
        }
        try
        {
            // The part's own Content-Type is ignored: the server decides from the name and the bytes.
            var info = await uploads.SaveAsync(http.User.Sender().Id, name, AttachmentRules.ContentTypeOf(name, bytes), bytes, cancellationToken).ConfigureAwait(false);
            return TypedResults.Created($"/api/uploads/{info.Id}", info);
        }
        catch (UploadQuotaExceededException e)
        {
            var hours = options.Value.Retention.TotalHours.ToString("0", System.Globalization.CultureInfo.InvariantCulture);
            return Problems.Of(StatusCodes.Status413PayloadTooLarge, ProblemCode.UploadQuotaExceeded,
                ("hours", hours), ("used", Mb(e.UsedBytes)), ("max", Mb(e.MaxBytes)));
        }
    }

    private static ProblemHttpResult Refused(AttachmentRefusal refusal) => Problems.Of(StatusCodes.Status400BadRequest, refusal.ToCoded());

    private static string Mb(long bytes) => (bytes / (1024.0 * 1024)).ToString("0.#", System.Globalization.CultureInfo.InvariantCulture);

    private static ProblemHttpResult TooLarge(long max) =>
        Problems.Of(StatusCodes.Status413PayloadTooLarge, ProblemCode.FileTooLarge, ("max", Mb(max)));
}
