using BulkMail.Api.Modes;
using BulkMail.Api.Infrastructure;
using System.Security.Cryptography;
using BulkMail.Api.Auth;
using Microsoft.AspNetCore.Http.HttpResults;

namespace BulkMail.Api.Templates;

/// <summary>Saved templates per user: subject + body, optionally for one mode; tags are checked when saved.</summary>
public static class TemplatesApi
{
    public static RouteGroupBuilder MapTemplatesApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/templates").WithTags("Templates").RequireAuthorization();
        group.MapGet("/", ListAsync);
        group.MapGet("/{id}", GetAsync);
        group.MapPost("/", CreateAsync).RequireRateLimiting(Infrastructure.RateLimits.TemplateWrites);
        group.MapPut("/{id}", UpdateAsync).RequireRateLimiting(Infrastructure.RateLimits.TemplateWrites);
        group.MapDelete("/{id}", DeleteAsync).RequireRateLimiting(Infrastructure.RateLimits.TemplateWrites);
        return group;
    }

    public static async Task<Ok<IReadOnlyList<SavedTemplate>>> ListAsync(string? mode, HttpContext http, ITemplateStore store, CancellationToken cancellationToken)
    {
        var all = await store.ListAsync(http.User.Sender().Id, cancellationToken).ConfigureAwait(false);
        return TypedResults.Ok<IReadOnlyList<SavedTemplate>>(Infrastructure.StrictEnum.TryParse<MailingMode>(mode, out var m)
            ? [.. all.Where(t => t.Mode is null || t.Mode == m)]
            : all);
    }

    public static async Task<Results<Ok<SavedTemplate>, ProblemHttpResult>> GetAsync(string id, HttpContext http, ITemplateStore store, CancellationToken cancellationToken) =>
        await store.GetAsync(http.User.Sender().Id, id, cancellationToken).ConfigureAwait(false) is { } t ? TypedResults.Ok(t) : NotFound(id);

    public static async Task<Results<Created<SavedTemplate>, ValidationProblem, ProblemHttpResult>> CreateAsync(TemplateRequest request, HttpContext http,
        ITemplateStore store, TagCatalog tags, MailTemplateEngine engine, TimeProvider time, Microsoft.Extensions.Options.IOptions<TemplateOptions> options,
        CancellationToken cancellationToken)
    {
        var (mode, errors, templateErrors) = await ValidateAsync(request, tags, engine, cancellationToken).ConfigureAwait(false);
        if (errors.Count > 0)
        {
            return Invalid(errors, templateErrors);
        }
        var now = time.GetUtcNow();
        var t = new SavedTemplate(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6)), http.User.Sender().Id, request.Name!.Trim(), mode,
            request.Subject!, request.Body!, now, now);
        var max = options.Value.MaxPerUser;
        if (!await store.TryAddAsync(t, max, cancellationToken).ConfigureAwait(false))
        {
            return Problems.Of(StatusCodes.Status409Conflict, ProblemCode.TooManyTemplates, ("max", max));
        }
        return TypedResults.Created($"/api/templates/{t.Id}", t);
    }

    public static async Task<Results<Ok<SavedTemplate>, ValidationProblem, ProblemHttpResult>> UpdateAsync(string id, TemplateRequest request, HttpContext http,
        ITemplateStore store, TagCatalog tags, MailTemplateEngine engine, TimeProvider time, CancellationToken cancellationToken)
    {
        var existing = await store.GetAsync(http.User.Sender().Id, id, cancellationToken).ConfigureAwait(false);
        if (existing is null)
        {
            return NotFound(id);
        }
        var (mode, errors, templateErrors) = await ValidateAsync(request, tags, engine, cancellationToken).ConfigureAwait(false);
        if (errors.Count > 0)
        {
            return Invalid(errors, templateErrors);
        }
        var updated = existing with { Name = request.Name!.Trim(), Mode = mode, Subject = request.Subject!, Body = request.Body!, UpdatedAt = time.GetUtcNow() };
        await store.SaveAsync(updated, cancellationToken).ConfigureAwait(false);
        return TypedResults.Ok(updated);
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(string id, HttpContext http, ITemplateStore store, CancellationToken cancellationToken) =>
        await store.DeleteAsync(http.User.Sender().Id, id, cancellationToken).ConfigureAwait(false) ? TypedResults.NoContent() : NotFound(id);

    private static async Task<(MailingMode? Mode, Dictionary<string, CodedText[]> Errors, IReadOnlyList<TemplateError> TemplateErrors)> ValidateAsync(TemplateRequest r, TagCatalog tags,
        MailTemplateEngine engine, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, CodedText[]>();
        MailingMode? mode = null;
        if (string.IsNullOrWhiteSpace(r.Name) || r.Name.Length > 100)
        {
            errors["name"] = [CodedText.Of(ProblemCode.TemplateNameInvalid)];
        }
        if (string.IsNullOrWhiteSpace(r.Subject))
        {
            errors["subject"] = [CodedText.Of(ProblemCode.SubjectRequired)];
        }
        if (string.IsNullOrWhiteSpace(r.Body))
        {
            errors["body"] = [CodedText.Of(ProblemCode.BodyRequired)];
        }
        if (r.Mode is { Length: > 0 })
        {
            if (Infrastructure.StrictEnum.TryParse<MailingMode>(r.Mode, out var m))
            {
                mode = m;
            }
            else
            {
                errors["mode"] = [CodedText.Of(ProblemCode.ModeInvalid, ("modes", string.Join(", ", Enum.GetNames<MailingMode>())))];
            }
        }
        if (errors.Count == 0)
        {
            // Sizes, depth and tag count are checked by the engine before it compiles (Templates:*).
            var known = await tags.TagsAsync(mode ?? MailingMode.JobToResumes, cancellationToken).ConfigureAwait(false);
            try
            {
                engine.Compile(r.Subject!, r.Body!, known.ContainsKey, known.Keys);
            }
            catch (TemplateException e)
            {
                foreach (var part in e.Errors.GroupBy(x => x.Part))
                {
                    errors[part.Key] = [.. part.Select(e => e.Text())];
                }
                return (mode, errors, e.Errors);
            }
        }
        return (mode, errors, []);
    }

    /// <summary>Field errors, plus the template errors with code, args and position as the mailings API gives them.</summary>
    private static ValidationProblem Invalid(Dictionary<string, CodedText[]> errors, IReadOnlyList<TemplateError> templateErrors)
    {
        var problem = Problems.Validation(ProblemCode.ValidationFailed, errors);
        if (templateErrors.Count > 0)
        {
            problem.ProblemDetails.Extensions["details"] = new { templateErrors };
        }
        return problem;
    }

    private static ProblemHttpResult NotFound(string id) =>
        Problems.Of(StatusCodes.Status404NotFound, ProblemCode.TemplateNotFound, ("id", id));
}

public sealed record TemplateRequest(string? Name, string? Mode, string? Subject, string? Body);
