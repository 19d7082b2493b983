namespace BulkMail.Api.Mailings;

public sealed class MailingStoreOptions
{
    /// <summary>Prefix of every Redis key; tests use a unique one each.</summary>
    public string KeyPrefix { get; set; } = "bulkmail:";

    /// <summary>How long a mailing and its deliveries are kept after the last change.</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(30);
}
