using System.ComponentModel.DataAnnotations;

namespace BulkMail.Api.Uploads;

/// <summary>The <c>Uploads</c> section: how big attachments may be and how long an unused upload is kept.</summary>
public sealed class UploadOptions
{
    public const string Section = "Uploads";

    /// <summary>Largest single file (Outlook's own default attachment limit is 25 MB).</summary>
    [Range(1, 150L * 1024 * 1024)]
    public long MaxFileBytes { get; set; } = 25L * 1024 * 1024;

    /// <summary>Largest total of one message's attachments (Exchange Online's default message size limit is 35 MB).</summary>
    [Range(1, 150L * 1024 * 1024)]
    public long MaxMessageBytes { get; set; } = 35L * 1024 * 1024;

    /// <summary>What one user's uploads may come to at any time (uploads count until they expire): a cap on the memory
    /// one account can take in Redis.</summary>
    [Range(1, 10L * 1024 * 1024 * 1024)]
    public long MaxBytesPerUser { get; set; } = 250L * 1024 * 1024;

    /// <summary>How long an upload waits to be used by a mailing (a submitted mailing keeps its own copy).</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromHours(24);
}
