using BulkMail.Api.Infrastructure;

namespace BulkMail.Api.Mailings;

/// <summary>The body of submit, preview and test (schema <c>MailingRequest</c> in addin/src/api/openapi.json). Strings,
/// not enums, so that a wrong value gets a problem naming the field instead of a binding failure.</summary>
public sealed record MailingRequest
{
    public string? Mode { get; init; }
    public long? AnchorId { get; init; }
    public ScopeRequest? Scope { get; init; }
    public IReadOnlyList<string>? MailFields { get; init; }
    public string? TemplateId { get; init; }
    public string? Subject { get; init; }
    public string? Body { get; init; }
    public AttachmentsRequest? Attachments { get; init; }
    public PhaseRequest? Phase { get; init; }
    public bool LogActivity { get; init; }
    public string? IdempotencyKey { get; init; }
    /// <summary>Submit only: expand and count the whole scope, then wait in <c>Ready</c> (with exact figures in the
    /// status) until <c>POST /api/mailings/{id}/start</c>; nothing is sent before.</summary>
    public bool Hold { get; init; }
    /// <summary>Preview only: read and render just this record of the scope (its counts, warnings and messages); for
    /// stepping through recipients without reading the whole scope again.</summary>
    public long? PreviewRecordId { get; init; }
    /// <summary>The user confirmed the near-miss tag spellings (<c>NearMissTag</c>, e.g. <c>｛｛Person.P_Name｝｝</c>) the
    /// preview warned about: send them as typed. Without it, submit refuses them (400).</summary>
    public bool AllowNearMissTags { get; init; }
    /// <summary>Submit only: what to write in HRBC when a recipient replies (automatic replies do not count): the phase
    /// (<c>phase.optionAlias</c>, of the mode's phase resource) and/or an Activity, each once per delivery.</summary>
    public ReplyRequest? OnReply { get; init; }
}

public sealed record ReplyRequest
{
    public ReplyPhaseRequest? Phase { get; init; }
    public bool LogActivity { get; init; }
}

public sealed record ReplyPhaseRequest
{
    public string? OptionAlias { get; init; }
}

public sealed record ScopeRequest
{
    public string? Kind { get; init; }
    public QueryRequest? Query { get; init; }
    public IReadOnlyList<long>? Ids { get; init; }
}

public sealed record QueryRequest
{
    public string? Keywords { get; init; }
    public string? Condition { get; init; }
}

public sealed record AttachmentsRequest
{
    public IReadOnlyList<long>? RecordAttachmentIds { get; init; }
    public IReadOnlyList<string>? UploadIds { get; init; }
    public string? ZipPassword { get; init; }
    public string? ZipEncryption { get; init; }
}

public sealed record PhaseRequest
{
    public string? OptionAlias { get; init; }
    public string? Memo { get; init; }
}

/// <summary>Invalid input: field name → messages, answered as a 400 validation problem. Nothing is stored. Made from
/// coded messages (<see cref="Codes"/>, answered as <c>fieldCodes</c>), or from plain English ones.</summary>
public sealed class MailingValidationException : Exception
{
    public MailingValidationException(IDictionary<string, string[]> errors, object? details = null)
        : base(string.Join(" ", errors.SelectMany(e => e.Value)))
    {
        Errors = errors;
        Details = details;
    }

    public MailingValidationException(IDictionary<string, CodedText[]> errors, object? details = null)
        : this(errors.ToDictionary(e => e.Key, e => e.Value.Select(x => x.English).ToArray()), details) => Codes = errors;

    public IDictionary<string, string[]> Errors { get; }

    /// <summary>The codes of <see cref="Errors"/>, field by field (null when made from plain messages).</summary>
    public IDictionary<string, CodedText[]>? Codes { get; }

    /// <summary>Extra machine-readable detail (e.g. template errors with positions).</summary>
    public object? Details { get; }

    public static MailingValidationException One(string field, string message) => new(new Dictionary<string, string[]> { [field] = [message] });

    public static MailingValidationException One(string field, CodedText message) => new(new Dictionary<string, CodedText[]> { [field] = [message] });
}
