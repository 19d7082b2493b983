using System.ComponentModel.DataAnnotations;

namespace BulkMail.Api.Mailings;

public sealed class MailingStoreOptions
{
    /// <summary>Prefix of every Redis key; tests use a unique one each.</summary>
    public string KeyPrefix { get; set; } = "bulkmail:";

    /// <summary>How long a mailing, its deliveries and its attachments are kept after the last change (set from
    /// <c>Retention:Days</c>).</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(RetentionOptions.DefaultDays);
}

/// <summary>The <c>Retention</c> section: how long finished mailings stay readable.</summary>
public sealed class RetentionOptions
{
    public const string Section = "Retention";
    public const int DefaultDays = 30;

    /// <summary>Days a mailing (status, result file, attachments copy) is kept after its last change.</summary>
    [Range(1, 365)]
    public int Days { get; set; } = DefaultDays;
}
