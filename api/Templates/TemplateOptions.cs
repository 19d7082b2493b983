using System.ComponentModel.DataAnnotations;

namespace BulkMail.Api.Templates;

/// <summary>
/// Limits of a template (subject + body), checked in one linear scan before Handlebars sees the text, so no request
/// can make the compiler recurse or work beyond them (<c>Templates:*</c>; validated at start-up).
/// </summary>
public sealed class TemplateOptions
{
    public const string Section = "Templates";

    /// <summary>How deep <c>{{#if}}</c>/<c>{{#unless}}</c> blocks may nest. The compiler recurses per level; 100 is
    /// far inside the stack it runs on (<see cref="MailTemplate.CompilerStackBytes"/>).</summary>
    [Range(1, 100)]
    public int MaxDepth { get; set; } = 20;

    /// <summary>How many <c>{{ }}</c> expressions subject and body may hold together (closers and comments count).
    /// Handlebars compiles ~2,000 in 0.5 s and 5,000 in ~2 s on one busy core, hence the ceiling.</summary>
    [Range(1, 5_000)]
    public int MaxTags { get; set; } = 2_000;

    /// <summary>Characters of the subject (HRBC activity titles and Outlook's list stop being useful beyond 255).</summary>
    [Range(1, 998)]
    public int MaxSubjectLength { get; set; } = 255;

    /// <summary>UTF-8 bytes of the body (Graph takes 4 MB per request, attachments included).</summary>
    [Range(1_024, 3 * 1024 * 1024)]
    public int MaxBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>Saved templates per user: they never expire, so each user's are capped.</summary>
    [Range(1, 10_000)]
    public int MaxPerUser { get; set; } = 100;
}
