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
            return TypedResults.Problem(title: "Send the file as multipart/form-data", detail: "POST one file in the form field `file`.",
                statusCode: StatusCodes.Status400BadRequest);
        }
        IFormCollection form;
        try
        {
            form = await http.Request.ReadFormAsync(new FormOptions { MultipartBodyLengthLimit = max + 1024 * 1024 }, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } or InvalidDataException)
        {
            return TooLarge(max);
        }
        var file = form.Files.GetFile("file") ?? (form.Files.Count == 1 ? form.Files[0] : null);
        if (file is null)
        {
            return TypedResults.Problem(title: "No file", detail: "POST one file in the form field `file`.", statusCode: StatusCodes.Status400BadRequest);
        }
        if (file.Length > max)
        {
            return TooLarge(max);
        }
        if (file.Length == 0)
        {
            return TypedResults.Problem(title: "The file is empty", detail: $"{file.FileName} has no content.", statusCode: StatusCodes.Status400BadRequest);
        }
        var name = Path.GetFileName(file.FileName);
        if (AttachmentRules.Check(name) is { } refusal)
        {
            return TypedResults.Problem(title: "This file cannot be attached", detail: refusal, statusCode: StatusCodes.Status400BadRequest);
        }
        using var buffer = new MemoryStream((int)file.Length);
        await file.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
        try
        {
            var info = await uploads.SaveAsync(http.User.Sender().Id, name, AttachmentRules.ContentTypeOf(name, file.ContentType), buffer.ToArray(), cancellationToken).ConfigureAwait(false);
            return TypedResults.Created($"/api/uploads/{info.Id}", info);
        }
        catch (UploadQuotaExceededException e)
        {
            var hours = options.Value.Retention.TotalHours.ToString("0", System.Globalization.CultureInfo.InvariantCulture);
            return TypedResults.Problem(title: "Too many uploads",
                detail: $"Your uploads of the last {hours} hours come to {Mb(e.UsedBytes)} MB; with this file they would pass " +
                    $"{Mb(e.MaxBytes)} MB (Uploads:MaxBytesPerUser). Uploads are freed {hours} hours after they were made.",
                statusCode: StatusCodes.Status413PayloadTooLarge);
        }
    }

    private static string Mb(long bytes) => (bytes / (1024.0 * 1024)).ToString("0.#", System.Globalization.CultureInfo.InvariantCulture);

    private static ProblemHttpResult TooLarge(long max) => TypedResults.Problem(
        title: "The file is too large",
        detail: $"A file can be at most {Mb(max)} MB (Uploads:MaxFileBytes).",
        statusCode: StatusCodes.Status413PayloadTooLarge);
}
