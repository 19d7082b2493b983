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

/// <summary>
/// The part of a Redis key that names a user: the SHA-256 of their id, in hex. Ids come from outside (a token's oid,
/// or the Development header) and may contain ':', '{' or '}'; joined as they are, owner "a:b" with key "c" and owner
/// "a" with key "b:c" were the same key, and a '}' moved a key out of its hash tag. A fixed-length hash cannot collide
/// that way and is always one hash-tag-safe token. (Keys written before this change are not read any more; there was no
/// production data.)
/// </summary>
public static class OwnerKey
{
    public static string Of(string owner) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(owner)));
}
