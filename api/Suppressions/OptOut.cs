using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using BulkMail.Api.Infrastructure;
using BulkMail.Api.Modes;
using Microsoft.Extensions.Options;

namespace BulkMail.Api.Suppressions;

/// <summary>The <c>OptOut</c> section (docs/opt-out.md): the unsubscribe link's signing key and address, the footer the
/// newsletter modes add, and the HRBC fields that mark a record as not to be mailed.</summary>
public sealed class OptOutOptions
{
    public const string Section = "OptOut";

    /// <summary>The key unsubscribe links are sealed under (at least 32 characters; required outside Development, where
    /// a random key per process is used). Changing it invalidates every link already sent.</summary>
    public string? SigningKey { get; set; }

    /// <summary>The public HTTPS address the links point at (default <c>Addin:PublicBaseUrl</c>; in Development this
    /// server's own address).</summary>
    public string? PublicBaseUrl { get; set; }

    /// <summary>The sender as the footer names them (特定電子メール法: the sender's name); default the signed-in user's name.</summary>
    public string? SenderName { get; set; }

    /// <summary>The organisation's name in the footer.</summary>
    public string? OrganizationName { get; set; }

    /// <summary>The organisation's postal address in the footer (特定電子メール法: the sender's address).</summary>
    public string? PostalAddress { get; set; }

    /// <summary>Where questions and complaints go (an address or URL shown in the footer), optional.</summary>
    public string? Contact { get; set; }

    public OptOutFooterOptions Footer { get; set; } = new();

    /// <summary>Resource name (Resume, Recruiter) → the HRBC field that marks a record as not to be mailed, e.g.
    /// <c>Resume.U_MailOptOut</c>.</summary>
    public Dictionary<string, string> Fields { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Resource name → the values of that field meaning 配信停止: option aliases (a checkbox or dropdown, e.g.
    /// <c>Option.U_MailOptOut_Stop</c>) or texts. Empty: any value at all counts as opted out.</summary>
    public Dictionary<string, List<string>> Values { get; set; } = new(StringComparer.Ordinal);

    /// <summary>What an unsubscribe writes to the HRBC record (once): resource → the field to set and its option alias.</summary>
    public Dictionary<string, OptOutWrite> Write { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Also log an HRBC activity (「配信停止」) on the record when its recipient unsubscribes.</summary>
    public bool LogActivity { get; set; }

    /// <summary>Unsubscribe page requests per client IP per minute (GET and POST together).</summary>
    [System.ComponentModel.DataAnnotations.Range(1, 10_000)]
    public int RequestsPerMinute { get; set; } = 30;
}

/// <summary>The field an unsubscribe sets: <c>Field</c> (e.g. <c>Resume.U_MailOptOut</c>) to <c>Option</c> (an option
/// alias, e.g. <c>Option.U_MailOptOut_Stop</c>).</summary>
public sealed class OptOutWrite
{
    public string Field { get; set; } = "";
    public string Option { get; set; } = "";
}

/// <summary>The footer's texts. Placeholders: <c>{sender}</c>, <c>{organization}</c>, <c>{postalAddress}</c>,
/// <c>{contact}</c>, <c>{url}</c>; lines become <c>&lt;br&gt;</c>, every value is HTML-escaped.</summary>
public sealed class OptOutFooterOptions
{
    /// <summary>Which text the footer uses: <c>ja</c>, <c>en</c> or <c>both</c> (Japanese first).</summary>
    public string Language { get; set; } = "ja";

    public string Ja { get; set; } = "このメールは {organization} の {sender} からお送りしています。\n{organization}　{postalAddress}\n今後このようなメールの配信を希望されない場合は、こちらから配信停止の手続きができます: {url}";

    public string En { get; set; } = "This message was sent by {sender} of {organization}.\n{organization}, {postalAddress}\nTo stop receiving these messages, unsubscribe here: {url}";
}

/// <summary>Refuses to start outside Development without a signing key of at least 32 characters and a public address
/// for the links (the key is what makes a link impossible to forge).</summary>
public sealed class OptOutOptionsCheck(IHostEnvironment environment, IConfiguration configuration) : IValidateOptions<OptOutOptions>
{
    public const int MinKeyLength = 32;

    public ValidateOptionsResult Validate(string? name, OptOutOptions options)
    {
        var failures = new List<string>();
        if (options.SigningKey is { } key && key.Length < MinKeyLength)
        {
            failures.Add($"OptOut:SigningKey must be at least {MinKeyLength} characters (it signs the unsubscribe links).");
        }
        if (!environment.AllowsDemo())
        {
            if (string.IsNullOrEmpty(options.SigningKey))
            {
                failures.Add(environment.Refusal("an unsigned unsubscribe link") + " Set OptOut:SigningKey (at least 32 random characters) for the unsubscribe links.");
            }
            if (string.IsNullOrWhiteSpace(options.OrganizationName) || string.IsNullOrWhiteSpace(options.PostalAddress))
            {
                failures.Add("OptOut:OrganizationName and OptOut:PostalAddress are required outside Development: the opt-out footer of advertising mail must name the sender and their address (特定電子メール法, docs/opt-out.md).");
            }
            var baseUrl = options.PublicBaseUrl ?? configuration["Addin:PublicBaseUrl"];
            if (!Uri.TryCreate(baseUrl, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttps)
            {
                failures.Add("OptOut:PublicBaseUrl (or Addin:PublicBaseUrl) must be the server's public https:// address: the unsubscribe links point there.");
            }
        }
        if (!(options.Footer.Language is "ja" or "en" or "both"))
        {
            failures.Add("OptOut:Footer:Language must be ja, en or both.");
        }
        foreach (var (resource, alias) in options.Fields)
        {
            if (!alias.StartsWith(resource + ".", StringComparison.Ordinal))
            {
                failures.Add($"OptOut:Fields:{resource} must be a field of {resource} (an alias such as {resource}.U_MailOptOut), not '{alias}'.");
            }
        }
        return failures.Count > 0 ? ValidateOptionsResult.Fail(failures) : ValidateOptionsResult.Success;
    }
}

/// <summary>Who a link unsubscribes, sealed into the link itself: the page needs no stored mailing, so the link works
/// as long as the signing key does (特定電子メール法: the way to opt out must keep working, and a message is read long after
/// its mailing is deleted). <paramref name="Mode"/> is the mailing's, for the HRBC write.</summary>
public sealed record UnsubscribeRecipient(string Tenant, string Address, MailingMode Mode, long RecordId, long? ResumeId);

/// <summary>A delivery an unsubscribe link names: the mailing and the delivery's number in it, and (links made since
/// the recipient was sealed into them) who it unsubscribes.</summary>
public sealed record UnsubscribeTarget(string MailingId, int Seq)
{
    public UnsubscribeRecipient? Recipient { get; init; }
}

/// <summary>
/// Unsubscribe links: <c>/unsubscribe/{token}</c>. The token is the delivery it names (mailing id and number) and who
/// it unsubscribes (tenant, address, mode, record ids), sealed with AES-256-GCM under a key derived from
/// <c>OptOut:SigningKey</c>: nobody without the key can make one for another address or read the address out of a
/// link (a link is seen by scanners, proxies and logs). The nonce is derived from the content (an HMAC of it, as in
/// SIV), so one delivery always gets the same link: what the preview shows is what is sent. Links of earlier versions
/// (mailing id and number with an HMAC-SHA256, the address looked up in the stored mailing) are still read.
/// </summary>
public sealed class UnsubscribeTokens
{
    private const string Purpose = "bulkmail-unsubscribe-v1:";
    private const int NonceBytes = 12, TagBytes = 16;

    /// <summary>A sealed token is at most this long: an address (254) and the ids, encrypted and in base64.</summary>
    public const int MaxLength = 1024;

    private readonly byte[] _key;
    private readonly byte[] _sealKey;
    private readonly byte[] _nonceKey;

    public UnsubscribeTokens(IOptions<OptOutOptions> options)
    {
        // Development without a key: a random one per process (links die with it; the demo and tests are fine).
        _key = options.Value.SigningKey is { Length: > 0 } key ? Encoding.UTF8.GetBytes(key) : RandomNumberGenerator.GetBytes(32);
        _sealKey = HKDF.DeriveKey(HashAlgorithmName.SHA256, _key, 32, info: "bulkmail-unsubscribe-v2-seal"u8.ToArray());
        _nonceKey = HKDF.DeriveKey(HashAlgorithmName.SHA256, _key, 32, info: "bulkmail-unsubscribe-v2-nonce"u8.ToArray());
    }

    /// <summary>A link of the earlier version: names the delivery only (the page looks it up in the stored mailing). No
    /// longer sent; made only to test that such links, already in recipients' mailboxes, are still read.</summary>
    internal string Create(string mailingId, int seq)
    {
        var payload = Payload(mailingId, seq);
        return Base64Url(Encoding.UTF8.GetBytes(payload)) + "." + Base64Url(Mac(payload));
    }

    /// <summary>The link of a delivery, with who it unsubscribes sealed into it.</summary>
    public string Create(string mailingId, int seq, UnsubscribeRecipient recipient)
    {
        // One field per line: none of them can hold a line break (ids, a validated address, a tenant id, a mode name).
        var plain = Encoding.UTF8.GetBytes(string.Join('\n', mailingId, seq.ToString(CultureInfo.InvariantCulture), recipient.Tenant, recipient.Mode.ToString(),
            recipient.RecordId.ToString(CultureInfo.InvariantCulture), recipient.ResumeId?.ToString(CultureInfo.InvariantCulture) ?? "", recipient.Address));
        var nonce = HMACSHA256.HashData(_nonceKey, plain)[..NonceBytes];
        var sealedBytes = new byte[plain.Length + TagBytes];
        using var aes = new AesGcm(_sealKey, TagBytes);
        aes.Encrypt(nonce, plain, sealedBytes.AsSpan(0, plain.Length), sealedBytes.AsSpan(plain.Length));
        return Base64Url(nonce) + "." + Base64Url(sealedBytes);
    }

    /// <summary>The delivery a token names, or null for anything not made by <see cref="Create(string, int)"/> or
    /// <see cref="Create(string, int, UnsubscribeRecipient)"/> with this key.</summary>
    public UnsubscribeTarget? Read(string? token)
    {
        if (string.IsNullOrEmpty(token) || token.Length > MaxLength)
        {
            return null;
        }
        var dot = token.IndexOf('.');
        if (dot <= 0 || !TryBase64Url(token[..dot], out var first) || !TryBase64Url(token[(dot + 1)..], out var second))
        {
            return null;
        }
        // A sealed token begins with its 12-byte nonce; an earlier one with "mailing id.number" (18 bytes or more).
        return first.Length == NonceBytes ? Unseal(first, second) : ReadSigned(first, second);
    }

    private UnsubscribeTarget? Unseal(byte[] nonce, byte[] sealedBytes)
    {
        if (sealedBytes.Length <= TagBytes)
        {
            return null;
        }
        var plain = new byte[sealedBytes.Length - TagBytes];
        try
        {
            using var aes = new AesGcm(_sealKey, TagBytes);
            aes.Decrypt(nonce, sealedBytes.AsSpan(0, plain.Length), sealedBytes.AsSpan(plain.Length), plain);
        }
        catch (AuthenticationTagMismatchException)
        {
            return null;
        }
        // Authentic, so made by Create: the fields are as it wrote them.
        var f = Encoding.UTF8.GetString(plain).Split('\n');
        if (f.Length != 7 || !int.TryParse(f[1], NumberStyles.None, CultureInfo.InvariantCulture, out var seq)
            || !Enum.TryParse<MailingMode>(f[3], out var mode) || !Enum.IsDefined(mode)
            || !long.TryParse(f[4], NumberStyles.None, CultureInfo.InvariantCulture, out var recordId))
        {
            return null;
        }
        long? resumeId = long.TryParse(f[5], NumberStyles.None, CultureInfo.InvariantCulture, out var r) ? r : null;
        return new UnsubscribeTarget(f[0], seq) { Recipient = new UnsubscribeRecipient(f[2], f[6], mode, recordId, resumeId) };
    }

    private UnsubscribeTarget? ReadSigned(byte[] payloadBytes, byte[] mac)
    {
        if (mac.Length != 32 || payloadBytes.Length > 200)
        {
            return null;
        }
        string payload;
        try
        {
            payload = new UTF8Encoding(false, true).GetString(payloadBytes);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
        if (!CryptographicOperations.FixedTimeEquals(Mac(payload), mac))
        {
            return null;
        }
        var sep = payload.LastIndexOf('.');
        return sep > 0 && int.TryParse(payload.AsSpan(sep + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var seq) && seq > 0
            ? new UnsubscribeTarget(payload[..sep], seq)
            : null;
    }

    private static string Payload(string mailingId, int seq) => mailingId + "." + seq.ToString(CultureInfo.InvariantCulture);

    private byte[] Mac(string payload) => HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(Purpose + payload));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static bool TryBase64Url(string text, out byte[] bytes)
    {
        bytes = [];
        if (text.Length == 0 || text.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_')))
        {
            return false;
        }
        var s = text.Replace('-', '+').Replace('_', '/');
        s += (s.Length % 4) switch { 2 => "==", 3 => "=", 0 => "", _ => "!" };
        try
        {
            bytes = Convert.FromBase64String(s);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }
}

/// <summary>The unsubscribe link's address and the footer block the newsletter modes add (docs/opt-out.md).</summary>
public sealed class OptOutFooter(IOptions<OptOutOptions> options, UnsubscribeTokens tokens, IServiceProvider services, IConfiguration configuration)
{
    public const string Tag = "BulkMail.UnsubscribeUrl";

    public string UrlFor(string mailingId, int seq, UnsubscribeRecipient recipient) => Root() + "/unsubscribe/" + tokens.Create(mailingId, seq, recipient);

    /// <summary>The link of a message that is no delivery (a preview before submit, a test send): the page refuses it.</summary>
    public string SampleUrl() => Root() + "/unsubscribe/preview";

    private string Root()
    {
        var baseUrl = options.Value.PublicBaseUrl ?? configuration["Addin:PublicBaseUrl"];
        return (string.IsNullOrEmpty(baseUrl) ? SelfAddress.Resolve(services, "/").ToString() : baseUrl).TrimEnd('/');
    }

    /// <summary>The footer as HTML, appended after the body: the configured text with every value escaped, the link
    /// as a link. <paramref name="senderName"/> is the signed-in user's, unless <c>OptOut:SenderName</c> is set.</summary>
    public string Html(string url, string? senderName)
    {
        var o = options.Value;
        var values = new Dictionary<string, string>
        {
            ["sender"] = o.SenderName ?? senderName ?? "",
            ["organization"] = o.OrganizationName ?? "",
            ["postalAddress"] = o.PostalAddress ?? "",
            ["contact"] = o.Contact ?? "",
            ["url"] = url,
        };
        string Fill(string text)
        {
            var lines = new List<string>();
            foreach (var line in text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n'))
            {
                var named = values.Keys.Where(k => line.Contains("{" + k + "}", StringComparison.Ordinal)).ToList();
                if (named.Count > 0 && named.All(k => values[k].Length == 0))
                {
                    continue; // e.g. no Contact configured: its line goes rather than showing an empty value
                }
                var escaped = WebUtility.HtmlEncode(line);
                foreach (var (k, v) in values)
                {
                    escaped = escaped.Replace("{" + k + "}", k == "url"
                        ? $"<a href=\"{WebUtility.HtmlEncode(v)}\">{WebUtility.HtmlEncode(v)}</a>"
                        : WebUtility.HtmlEncode(v), StringComparison.Ordinal);
                }
                lines.Add(escaped);
            }
            return string.Join("<br>", lines);
        }
        var parts = o.Footer.Language switch
        {
            "en" => [Fill(o.Footer.En)],
            "both" => new[] { Fill(o.Footer.Ja), Fill(o.Footer.En) },
            _ => [Fill(o.Footer.Ja)],
        };
        return "<div class=\"bulkmail-optout\" style=\"margin-top:2em;border-top:1px solid #ccc;padding-top:0.5em;font-size:smaller;color:#555\">"
            + string.Join("<br><br>", parts) + "</div>";
    }
}
