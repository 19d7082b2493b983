using System.Text.Json.Serialization;

namespace BulkMail.Api.Infrastructure;

// The stable codes of everything the API says to people. Clients translate codes, never the English sentences
// (which may be reworded). Each enum is a schema of the OpenAPI document (CodeSchemas), so the task pane's generated
// TypeScript has the same unions, and ServerText holds the English and Japanese of every value (a test checks it).

/// <summary>Problem details (<c>code</c>) and validation field codes (<c>fieldCodes</c>).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ProblemCode>))]
public enum ProblemCode
{
    // problems answered by status alone (framework, status code pages)
    BadRequest, Unauthorized, Forbidden, NotFound, MethodNotAllowed, Conflict, PayloadTooLarge, UnsupportedMediaType,
    TooManyRequests, InternalError, BadGateway, ServiceUnavailable, GatewayTimeout, HttpError,
    // validation problems (the title; per-field codes follow)
    InvalidMailing, InvalidSearch, ValidationFailed,
    // HRBC
    HrbcError, HrbcFailed, HrbcTimeout, HrbcUnreachable, UnknownResource, RecordNotFound,
    // mailings, templates
    MailingNotFound, NotPossibleInState, NothingToRetry, TemplateNotFound, MailingNotReady, PreviewTargetRequired, DeliveryNotFound,
    DeliveryNotFoundForRecord, MailingNotDeletable, MailingStillStopping, TooManyRunningMailings, TooManyTemplates,
    // scheduling and undo (the start body's fields; the undo window)
    UndoExpired, SendAtInvalid, SendAtInPast, SendAtTooFar, WindowDaysInvalid, WindowTimeInvalid, WindowEmpty, WindowNeverOpens,
    UndoSecondsOutOfRange,
    // per-user limits (429 with Retry-After)
    RateLimited,
    // the store (Redis) did not answer: 503 with Retry-After
    StoreUnavailable,
    // input hardening
    HrbcRequestTooLong, ContentTypeUnsupported, HostInvalid, MultipartMalformed, FileNameEmpty, FileNameInvalidCharacter,
    FileNameReserved, FileIsProgram,
    // uploads and files
    NotMultipart, NoFile, FileEmpty, FileTooLarge, UploadQuotaExceeded, FileNameMissing, FileNameInvalid, FileNameTooLong,
    FileTypeBlocked,
    // sending as the user
    SignInRequired, SendAsForbidden, SignInUnavailable,
    // add-in hosting
    ManifestNeedsHttps, AddinNotBuilt,
    // fields of a mailing, a search, a template
    ModeInvalid, AnchorRequired, ScopeKindInvalid, ScopeEmpty, TooManyIds, IdsNotPositive, ScopeNoMatch, NoValidAddress,
    KeywordsTooLong, KeywordsControlCharacters, NumberTooSmall, NumberOutOfRange,
    ConditionNotATerm, ConditionSuffixUnknown, ConditionNoValue, ConditionEmptyValue, ConditionForeignField, ConditionUnknownField, ConditionNotANumber,
    TemplateMissing, TemplateNameInvalid, SubjectRequired, SubjectTooLong, BodyRequired, BodyTooLarge, BodyTooLargeMb,
    MailFieldsRequired, MailFieldUnknown, PhaseUnknown, PhaseMemoTooLong, PhaseMemoWithoutPhase, IdempotencyKeyTooLong,
    RecruiterRecommendationFiles, JobOfferFiles, ModeHasNoFiles, NotAFileOf, FileUnreadable, UploadMissing,
    ZipPasswordWithoutFiles, ZipPasswordLength, ZipPasswordCharacters, ZipEncryptionInvalid, DuplicateFileNames,
    AttachmentsTooLarge, TimeZoneUnknown,
    // the deliveries list (replies and bounces)
    DeliveriesFilterInvalid, DeliveriesCursorInvalid,
    // suppressions and unsubscribe links
    SuppressionAddressInvalid, SuppressionReasonTooLong, SuppressionNotFound, SuppressionImportTooLarge, SuppressionImportTooMany,
    SuppressionImportEmpty, SuppressionImportLineInvalid, SuppressionCursorInvalid, UnsubscribeLinkInvalid,
}

/// <summary>Template errors (<c>details.templateErrors[].code</c>, and <c>fieldCodes</c> of subject/body): the values of
/// <see cref="Templates.TemplateErrorCodes"/>. Args: their own (MailTemplate), plus <c>part</c> and, where known,
/// <c>line</c>, <c>column</c>, <c>tag</c>; the message states the problem, the place is in part/line/column.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<TemplateErrorCode>))]
public enum TemplateErrorCode { UnknownTag, EmptyTag, Unclosed, StrayClose, UnclosedBlock, Syntax, TooDeep, TooManyTags, TooLong, NearMissTag }

/// <summary>A delivery's reason (skips, cancellations, failures): the values of <see cref="Mailings.ReasonCodes"/>.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ReasonCode>))]
public enum ReasonCode
{
    NoAddress, InvalidAddress, RecordGone, AnchorGone, CancelledBeforeSend, GraphRefused, GaveUp, Throttled, GraphTransient,
    Suppressed, OptedOutInHrbc,
}

/// <summary>Why a mailing waits (<c>waitCode</c> of the status).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<WaitCode>))]
public enum WaitCode { PacingWindow, DailyQuota, RetryAfter, GraphErrors, UploadBudget, Expanding, Scheduled, UndoWindow, OutsideWindow }

/// <summary>Why a mailing is paused (<c>pausedCode</c> of the status).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<PausedCode>))]
public enum PausedCode { PausedByUser, FailureStreak, AttachmentsMissing, SignInRefused }

/// <summary>One part of a delivery's follow-up outcome (<c>phaseUpdateCodes</c>; the CSV's PhaseUpdate).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<PhaseUpdateCode>))]
public enum PhaseUpdateCode { Pending, ProcessCreated, ProcessUpdated, PhaseUpdated, PhaseFailed, ActivityLogged, ActivityFailed, Retrying, GaveUp }

/// <summary>A stable code and the values its sentence names; <see cref="English"/> is the sentence for API users.</summary>
public sealed record CodedText(string Code, IReadOnlyDictionary<string, string> Args)
{
    [JsonIgnore]
    public string English { get; init; } = "";

    public static CodedText Of<TCode>(TCode code, params (string Name, object? Value)[] args) where TCode : struct, Enum
    {
        var values = args.ToDictionary(a => a.Name, a => Convert.ToString(a.Value, System.Globalization.CultureInfo.InvariantCulture) ?? "");
        return new CodedText(code.ToString(), values) { English = ServerText.Format(code, values, japanese: false) };
    }
}
