using BulkMail.Api.Infrastructure;
using BulkMail.Api.Hrbc;
using BulkMail.Api.Mail;
using BulkMail.Api.Uploads;
using ICSharpCode.SharpZipLib.Zip;
using Microsoft.Extensions.Options;

namespace BulkMail.Api.Mailings;

public static class MailAttachmentInfo
{
    extension(MailAttachment file)
    {
        /// <summary>What the status and the store say about a file (its bytes stay in the message).</summary>
        public AttachmentInfo Info => new(file.Name, file.ContentType, file.Content.LongLength);
    }
}

/// <summary>The files of a mailing as they will be sent, and what they were made from.</summary>
public sealed record PreparedAttachments(IReadOnlyList<MailAttachment> Files, IReadOnlyList<AttachmentInfo> Sources, string? ZipEncryption)
{
    public static readonly PreparedAttachments None = new([], [], null);
    public long TotalBytes => Files.Sum(f => f.Content.LongLength);
}

/// <summary>
/// Gathers a mailing's files once, at submit: the anchor record's HRBC attachments the user picked and their uploads,
/// zipped with one password when asked (AES-256 by default; ZipCrypto only as the weak "compatible" choice). The
/// password is used here and forgotten: it is not stored, logged or returned.
/// </summary>
public sealed class MailingAttachmentBuilder(HrbcClient hrbc, IUploadStore uploads, IOptions<UploadOptions> options, TimeProvider time)
{
    public const string Aes256 = "Aes256";
    public const string ZipCrypto = "ZipCrypto";
    public const int MinPasswordLength = 8;
    public const int MaxPasswordLength = 128;

    public async Task<PreparedAttachments> BuildAsync(MailingSpec spec, AttachmentsRequest? request, string owner, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, CodedText[]>();
        var password = request?.ZipPassword;
        var encryption = request?.ZipEncryption;
        if (!string.IsNullOrEmpty(password))
        {
            if (password.Length is < MinPasswordLength or > MaxPasswordLength)
            {
                errors["attachments.zipPassword"] = [CodedText.Of(ProblemCode.ZipPasswordLength, ("min", MinPasswordLength), ("max", MaxPasswordLength))];
            }
            else if (password.Any(c => c is < '!' or > '~'))
            {
                // Zip tools disagree on how non-ASCII passwords are encoded: a recipient could not open the file.
                errors["attachments.zipPassword"] = [CodedText.Of(ProblemCode.ZipPasswordCharacters)];
            }
            encryption = string.IsNullOrEmpty(encryption) ? Aes256 : encryption;
            if (encryption is not (Aes256 or ZipCrypto))
            {
                errors["attachments.zipEncryption"] = [CodedText.Of(ProblemCode.ZipEncryptionInvalid, ("a", Aes256), ("b", ZipCrypto))];
            }
        }
        else if (!string.IsNullOrEmpty(encryption) && encryption is not (Aes256 or ZipCrypto))
        {
            errors["attachments.zipEncryption"] = [CodedText.Of(ProblemCode.ZipEncryptionInvalid, ("a", Aes256), ("b", ZipCrypto))];
        }

        var files = new List<MailAttachment>();
        if (spec.RecordAttachmentIds.Count > 0 && ModeShape.Of(spec.Mode) is { Anchor: { } anchor, AnchorAttachments: true } && spec.AnchorId is { } anchorId)
        {
            var available = (await hrbc.GetAttachmentsAsync(anchor, anchorId, cancellationToken).ConfigureAwait(false)).ToDictionary(a => a.Id);
            var unknown = spec.RecordAttachmentIds.Where(id => !available.ContainsKey(id)).ToList();
            if (unknown.Count > 0)
            {
                errors["attachments.recordAttachmentIds"] = [CodedText.Of(ProblemCode.NotAFileOf, ("resource", anchor.Name), ("id", anchorId), ("ids", string.Join(", ", unknown)))];
            }
            else
            {
                // Fetched once per mailing here, never once per delivery.
                foreach (var id in spec.RecordAttachmentIds)
                {
                    var content = await hrbc.GetAttachmentContentAsync(anchor, id, cancellationToken).ConfigureAwait(false);
                    if (content is null)
                    {
                        errors["attachments.recordAttachmentIds"] = [CodedText.Of(ProblemCode.FileUnreadable, ("file", available[id].FileName), ("resource", anchor.Name), ("id", anchorId))];
                        break;
                    }
                    // HRBC's names and types come from whoever uploaded them to HRBC: the same rule as uploads.
                    var name = AttachmentRules.Normalize(available[id].FileName);
                    if ((AttachmentRules.Refuse(name) ?? AttachmentRules.RefuseContent(name, content.Content)) is { } refusal)
                    {
                        errors["attachments.recordAttachmentIds"] = [refusal.ToCoded() with { English = $"The file {name} of {anchor.Name} {anchorId} cannot be attached: {refusal.Message}" }];
                        break;
                    }
                    files.Add(new MailAttachment(name, AttachmentRules.ContentTypeOf(name, content.Content), content.Content));
                }
            }
        }
        foreach (var id in spec.UploadIds)
        {
            var file = await uploads.GetAsync(owner, id, cancellationToken).ConfigureAwait(false);
            if (file is null)
            {
                errors["attachments.uploadIds"] = [CodedText.Of(ProblemCode.UploadMissing, ("id", id), ("hours", options.Value.Retention.TotalHours.ToString("0", System.Globalization.CultureInfo.InvariantCulture)))];
                break;
            }
            files.Add(new MailAttachment(file.Info.Name, file.Info.ContentType, file.Content));
        }
        if (!string.IsNullOrEmpty(password) && files.Count == 0 && !errors.ContainsKey("attachments.zipPassword"))
        {
            errors["attachments.zipPassword"] = [CodedText.Of(ProblemCode.ZipPasswordWithoutFiles)];
        }
        var duplicateNames = files.GroupBy(f => f.Name, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        if (duplicateNames.Count > 0)
        {
            errors["attachments"] = [CodedText.Of(ProblemCode.DuplicateFileNames, ("names", string.Join(", ", duplicateNames)))];
        }
        if (errors.Count > 0)
        {
            throw new MailingValidationException(errors);
        }
        if (files.Count == 0)
        {
            return PreparedAttachments.None;
        }
        var sources = files.Select(f => f.Info).ToList();
        var sent = string.IsNullOrEmpty(password) ? files : [Zip(files, password, encryption!, time.GetLocalNow().DateTime)];
        var total = sent.Sum(f => f.Content.LongLength);
        if (total > options.Value.MaxMessageBytes)
        {
            throw MailingValidationException.One("attachments",
                CodedText.Of(ProblemCode.AttachmentsTooLarge, ("total", (total / (1024.0 * 1024)).ToString("0.0", System.Globalization.CultureInfo.InvariantCulture)),
                    ("max", (options.Value.MaxMessageBytes / (1024.0 * 1024)).ToString("0.#", System.Globalization.CultureInfo.InvariantCulture))));
        }
        return new PreparedAttachments(sent, sources, string.IsNullOrEmpty(password) ? null : encryption);
    }

    /// <summary>One zip holding every file, entry names in UTF-8 (flag bit 11) so Japanese names survive.</summary>
    public static MailAttachment Zip(IReadOnlyList<MailAttachment> files, string password, string encryption, DateTime modified)
    {
        using var buffer = new MemoryStream();
        using (var zip = new ZipOutputStream(buffer, StringCodec.Default) { IsStreamOwner = false })
        {
            zip.SetLevel(6);
            zip.Password = password;
            foreach (var f in files)
            {
                // Entry names under the same rule (already normalized for uploads and HRBC files; a caller of Zip may
                // pass anything, and a name with a path in it would unpack outside the folder).
                var entryName = AttachmentRules.Normalize(f.Name);
                if (AttachmentRules.Refuse(entryName) is { } refusal)
                {
                    throw new ArgumentException(refusal.Message, nameof(files));
                }
                var entry = new ZipEntry(entryName)
                {
                    IsUnicodeText = true,
                    DateTime = modified,
                    Size = f.Content.LongLength,
                    AESKeySize = encryption == Aes256 ? 256 : 0,
                };
                zip.PutNextEntry(entry);
                zip.Write(f.Content, 0, f.Content.Length);
                zip.CloseEntry();
            }
            zip.Finish();
        }
        var name = files.Count == 1 ? Path.GetFileNameWithoutExtension(files[0].Name) + ".zip" : "attachments.zip";
        return new MailAttachment(name, "application/zip", buffer.ToArray());
    }
}
