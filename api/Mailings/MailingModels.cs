using BulkMail.Api.Modes;
using BulkMail.Api.Auth;
using System.Text.Json.Serialization;
using BulkMail.Api.Infrastructure;
using BulkMail.Api.Mailings.Scheduling;

namespace BulkMail.Api.Mailings;

[JsonConverter(typeof(StrictEnumConverter<ScopeKind>))]
public enum ScopeKind { All, Displayed, Checked }

[JsonConverter(typeof(StrictEnumConverter<MailingState>))]
public enum MailingState { Preparing, Ready, Scheduled, Queued, Sending, Paused, Completed, Cancelled, Failed }

[JsonConverter(typeof(StrictEnumConverter<DeliveryStatus>))]
public enum DeliveryStatus { Pending, Sent, Failed, Skipped, Bounced, Cancelled }

public static class MailingStates
{
    public static bool IsFinal(MailingState s) => s is MailingState.Completed or MailingState.Cancelled or MailingState.Failed;

    /// <summary>What DELETE may remove: a held mailing (Preparing with held, or Ready) or a final one whose last
    /// delivery has stopped (finishedAt set). Anything still sending has to be cancelled first.</summary>
    public static bool IsDeletable(MailingState s, bool held, bool finished) =>
        s == MailingState.Ready || (s == MailingState.Preparing && held) || (IsFinal(s) && finished);

    /// <summary>What counts against <c>RateLimits:RunningMailings</c>: preparing without hold, scheduled (started, it will
    /// send), queued, sending or paused. A held mailing waiting for Start, and a final one, do not.</summary>
    public static bool IsRunning(MailingState s, bool held) =>
        s is MailingState.Scheduled or MailingState.Queued or MailingState.Sending or MailingState.Paused || (s == MailingState.Preparing && !held);
}

/// <summary>The outcome of <see cref="IMailingStore.DeleteAsync"/>.</summary>
public enum MailingDeletion
{
    Deleted,
    NotFound,
    /// <summary>Still running (queued, sending, paused, or preparing without hold): cancel it first.</summary>
    NotDeletable,
}

/// <summary>What a mailing covers and says: fixed at submit time.</summary>
public sealed record MailingSpec
{
    public required MailingMode Mode { get; init; }
    public long? AnchorId { get; init; }
    public required ScopeKind ScopeKind { get; init; }
    public string? Keywords { get; init; }
    public string? Condition { get; init; }
    /// <summary>The ids sent for Displayed/Checked, in the order sent.</summary>
    public IReadOnlyList<long> Ids { get; init; } = [];
    public required IReadOnlyList<string> MailFields { get; init; }
    public required string Subject { get; init; }
    public required string Body { get; init; }
    public string? PhaseAlias { get; init; }
    /// <summary>The phase's name at submit time, for the confirmation and the result file.</summary>
    public string? PhaseName { get; init; }
    public string? PhaseMemo { get; init; }
    public bool LogActivity { get; init; }
    public IReadOnlyList<string> UploadIds { get; init; } = [];
    public IReadOnlyList<long> RecordAttachmentIds { get; init; } = [];
    /// <summary>The files every message carries, as prepared at submit (zipped when a password was given; the
    /// password itself is never stored). Their bytes live in the store next to the mailing.</summary>
    public IReadOnlyList<AttachmentInfo> Attachments { get; init; } = [];
    /// <summary>Set when the files travel as one password-protected zip: <c>Aes256</c> or <c>ZipCrypto</c>.</summary>
    public string? ZipEncryption { get; init; }
    /// <summary>Whether follow-up writes to HRBC (phase, activity) are due after each sent delivery.</summary>
    public bool HasFollowUps => PhaseAlias is not null || LogActivity;
    /// <summary>Sender values for <c>{{User.*}}</c> tags.</summary>
    public IReadOnlyDictionary<string, string?> SenderValues { get; init; } = new Dictionary<string, string?>();
    /// <summary>The organisation whose suppression list the mailing honours (<see cref="Auth.Sender.Tenant"/>).</summary>
    public string Tenant { get; init; } = Auth.Sender.DefaultTenant;
    /// <summary>Add the opt-out footer (sender, address, unsubscribe link) after the body (docs/opt-out.md).</summary>
    public bool OptOutFooter { get; init; }
    /// <summary>What to write in HRBC when a recipient replies (null: nothing).</summary>
    public ReplyActions? OnReply { get; init; }
}

/// <summary>A mailing's <c>onReply</c>: the phase to set (its alias and name at submit) and whether to log an Activity.</summary>
public sealed record ReplyActions(string? PhaseAlias, string? PhaseName, bool LogActivity)
{
    public bool Any => PhaseAlias is not null || LogActivity;
}

/// <summary>Hard: the address does not exist (5.1.x, 5.4.x): suppress it. Soft: it may work later or with another message.</summary>
[JsonConverter(typeof(StrictEnumConverter<BounceKind>))]
public enum BounceKind { Hard, Soft }

/// <summary>The HRBC writes after a reply or a bounce that are done (each at most once): the reply's phase and activity,
/// the bounce's activity, and how many times writing them failed.</summary>
public sealed record InboxFollowUp(bool ReplyPhase, bool ReplyActivity, bool BounceActivity, int Attempts)
{
    public static readonly InboxFollowUp None = new(false, false, false, 0);
}

/// <summary>A mailing as stored: its spec plus the moving parts.</summary>
public sealed record Mailing
{
    public required string Id { get; init; }
    /// <summary>The user who submitted it; only they can see it.</summary>
    public required string Owner { get; init; }
    /// <summary>The mailbox it is sent from (the owner's, for delegated sending).</summary>
    public required string Mailbox { get; init; }
    public required MailingSpec Spec { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public MailingState State { get; init; }
    public string? PausedReason { get; init; }
    /// <summary>The stable code of <see cref="PausedReason"/> (<see cref="PauseCodes"/>), stored with the pause.</summary>
    public string? PausedCode { get; init; }
    /// <summary>The values the pause's sentence names (e.g. <c>count</c>, <c>mailbox</c>, <c>entraCode</c>).</summary>
    public IReadOnlyDictionary<string, string>? PausedArgs { get; init; }
    /// <summary>Submitted with <c>hold</c>: it waits in <see cref="MailingState.Ready"/> after expansion until started.
    /// Stays true while held (Preparing, Ready, or cancelled from there); false once started.</summary>
    public bool Held { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset? FinishedAt { get; init; }
    public string? IdempotencyKey { get; init; }
    /// <summary>What Start asked for (sendAt, window, undo window); null when it started at once or has not started.</summary>
    public MailingSchedule? Schedule { get; init; }
    /// <summary>The end of the window opening it was queued in (null: no window): nothing is claimed from then on, and
    /// the worker puts it back to Scheduled until the next opening.</summary>
    public DateTimeOffset? OpenUntil { get; init; }
    /// <summary>The W3C traceparent of the submit's request: the worker's spans for this mailing join its trace.</summary>
    public string? TraceParent { get; init; }
}

/// <summary>One intended message: a record × mail field (or a skipped record), and what became of it.</summary>
public sealed record Delivery
{
    /// <summary>1-based position within the mailing; the delivery id is <c>{mailingId}-{Seq}</c>.</summary>
    public required int Seq { get; init; }
    public required string RecordType { get; init; }
    public required long RecordId { get; init; }
    public string? RecordName { get; init; }
    public long? JobId { get; init; }
    /// <summary>The resume involved (the listed resume, or the anchor resume of JobsToResume/ResumeToRecruiters).</summary>
    public long? ResumeId { get; init; }
    /// <summary>The recipient's display name (the listed record's, or the anchor side's in ResumesToRecruiter/JobsToResume).</summary>
    public string? RecipientName { get; init; }
    public string? MailField { get; init; }
    public string? Address { get; init; }
    public DeliveryStatus Status { get; init; }
    public string? Reason { get; init; }
    /// <summary>The stable code of <see cref="Reason"/> (<see cref="ReasonCodes"/>): what clients translate and count;
    /// <see cref="Reason"/> stays the English sentence for API users.</summary>
    public string? ReasonCode { get; init; }
    /// <summary>The values the reason's sentence names (e.g. <c>graphCode</c>), for translations.</summary>
    public IReadOnlyDictionary<string, string>? ReasonArgs { get; init; }
    public int Attempts { get; init; }
    /// <summary>The Graph draft's immutable id, recorded before the draft is sent.</summary>
    public string? DraftId { get; init; }
    /// <summary>An earlier attempt may have had effects in the mailbox that were not recorded (a crash, a timeout, a
    /// lost answer): the next attempt looks the message up first — by <see cref="DraftId"/>, or by the delivery id.
    /// Stored as true before every call that can create or send, cleared when the outcome is known.</summary>
    public bool NeedsLookup { get; init; }
    public DateTimeOffset? SentAt { get; init; }
    /// <summary>The outcome of the follow-up writes to HRBC: <c>Pending</c> until written, then what happened.</summary>
    public string? PhaseUpdate { get; init; }
    /// <summary>The parts of <see cref="PhaseUpdate"/> as codes with arguments (<see cref="PhaseUpdateCode"/>).</summary>
    public IReadOnlyList<CodedText>? PhaseUpdateCodes { get; init; }
    /// <summary>Failed follow-up write attempts so far.</summary>
    public int FollowUpAttempts { get; init; }
    /// <summary>What of the follow-up is written already (null: nothing yet).</summary>
    public FollowUpProgress? FollowUp { get; init; }
    public DateTimeOffset? BouncedAt { get; init; }
    public string? BounceReason { get; init; }
    /// <summary>Hard (the address is dead: suppress it) or Soft (full, too big, policy, delayed past expiry), from the
    /// NDR's enhanced status code (<see cref="BounceClassifier"/>); null until bounced.</summary>
    public BounceKind? BounceKind { get; init; }
    /// <summary>The sent copy's RFC 5322 Message-ID as Exchange assigned it to the draft (Graph's <c>internetMessageId</c>):
    /// what replies name in <c>In-Reply-To</c>/<c>References</c> and NDRs return as the original's <c>Message-ID</c>.</summary>
    public string? InternetMessageId { get; init; }
    /// <summary>Graph's <c>conversationId</c> of the sent copy: replies in the same conversation belong to it.</summary>
    public string? ConversationId { get; init; }
    /// <summary>When the first reply (not an automatic one) arrived; null while none did.</summary>
    public DateTimeOffset? RepliedAt { get; init; }
    /// <summary>What of the mailing's <c>onReply</c> (phase, activity) and of the bounce's activity is written in HRBC.</summary>
    public InboxFollowUp? InboxFollowUp { get; init; }
    /// <summary>The tag values of this delivery (only the aliases the template uses).</summary>
    public IReadOnlyDictionary<string, string?> Values { get; init; } = new Dictionary<string, string?>();

    public static string IdOf(string mailingId, int seq) => $"{mailingId}-{seq}";
}

/// <summary>Counts by outcome, kept by the store in the same step that changes a delivery.</summary>
public sealed record MailingCounts(int Total, int Sent, int Failed, int Skipped, int Bounced, int Cancelled)
{
    /// <summary>Deliveries with a reply (<see cref="Delivery.RepliedAt"/>), counted when the first reply is marked.</summary>
    public int Replied { get; init; }

    /// <summary>Sent deliveries whose HRBC phase update or activity is not yet written.</summary>
    public int FollowUpsPending { get; init; }

    public int Pending => Math.Max(0, Total - Sent - Failed - Skipped - Bounced - Cancelled);
}

/// <summary>The exact figures of an expanded mailing, kept by the store in the steps that store and finish deliveries.</summary>
public sealed record MailingFigures
{
    /// <summary>Skipped deliveries by <see cref="ReasonCodes"/> code, counted in the step that stored them.</summary>
    public IReadOnlyDictionary<string, int> SkippedByReason { get; init; } = new Dictionary<string, int>();

    /// <summary>HRBC records whose phase the mailing sets (one per job × resume in the matching modes, per record
    /// otherwise), counted over the sendable deliveries as the scope is expanded.</summary>
    public int PhaseUpdates { get; init; }

    /// <summary>Records of the scope read so far (the expansion cursor).</summary>
    public int Counted { get; init; }

    /// <summary>Records in the scope, once the first page said so (null before).</summary>
    public int? ScopeTotal { get; init; }

    /// <summary>The last transient Microsoft 365 error of this mailing since its last sent message (null: none).</summary>
    public MailingError? LastError { get; init; }
}

/// <summary>A transient error recorded on the mailing (for the status's <c>GraphErrors</c> wait): Graph's code and
/// message, when it happened and when the delivery is tried again.</summary>
public sealed record MailingError(string GraphCode, string GraphMessage, DateTimeOffset At, DateTimeOffset? RetryAt);

/// <summary>What one appended page adds besides its deliveries: phase updates it implies and the scope's size when known.</summary>
public sealed record PageFigures(int PhaseUpdates, int? ScopeTotal)
{
    public static readonly PageFigures None = new(0, null);
}

/// <summary>Stable codes of why a mailing is paused (the status's <c>pausedCode</c>).</summary>
public static class PauseCodes
{
    public const string PausedByUser = "PausedByUser";
    /// <summary>args: <c>count</c>.</summary>
    public const string FailureStreak = "FailureStreak";
    public const string AttachmentsMissing = "AttachmentsMissing";
    /// <summary>args: <c>mailbox</c>, <c>entraCode</c>.</summary>
    public const string SignInRefused = "SignInRefused";
}

/// <summary>Stable codes of why a mailing waits (the status's <c>waitCode</c>).</summary>
public static class WaitCodes
{
    /// <summary>Preparing: reading the scope (args: <c>counted</c>, <c>total</c>).</summary>
    public const string Expanding = "Expanding";
    /// <summary>The messages-per-minute window is full.</summary>
    public const string PacingWindow = "PacingWindow";
    /// <summary>The daily recipient limit is reached (args: <c>limit</c>).</summary>
    public const string DailyQuota = "DailyQuota";
    /// <summary>Microsoft 365 answered 429; the mailbox waits (args: <c>seconds</c>).</summary>
    public const string RetryAfter = "RetryAfter";
    /// <summary>Recent transient errors; backing off (args: <c>graphCode</c>, <c>graphMessage</c>).</summary>
    public const string GraphErrors = "GraphErrors";
    /// <summary>The attachment upload budget per 5 minutes is used up.</summary>
    public const string UploadBudget = "UploadBudget";
    /// <summary>Scheduled: waiting for its sendAt (args: <c>at</c>).</summary>
    public const string Scheduled = "Scheduled";
    /// <summary>Nothing is handed to Microsoft 365 before undoUntil; Undo cancels until then (args: <c>at</c>).</summary>
    public const string UndoWindow = "UndoWindow";
    /// <summary>The sending window is closed; sending begins or goes on when it opens (args: <c>at</c>).</summary>
    public const string OutsideWindow = "OutsideWindow";
}

/// <summary>A delivery claimed by a worker under a lease; only the lease holder may record its outcome.</summary>
public sealed record DeliveryClaim(string MailingId, Delivery Delivery, string LeaseToken);

/// <summary>The answer to a claim: a delivery, or when the next one will be ready (null = none queued).</summary>
public sealed record ClaimResult(DeliveryClaim? Claim, DateTimeOffset? NextReadyAt)
{
    /// <summary>Nothing queued: when the first lease held by a worker runs out (null: none held).</summary>
    public DateTimeOffset? LeaseEndsAt { get; init; }

    /// <summary>Claimed: when the delivery became ready (null: unknown, e.g. back from an expired lease), for the due-lag metric.</summary>
    public DateTimeOffset? ReadyAt { get; init; }
}

/// <summary>Where the expansion of a large scope stands, so that a restarted process continues it.</summary>
public sealed record ExpansionCursor(int Position, bool Done);

/// <summary>One file a mailing's messages carry.</summary>
public sealed record AttachmentInfo(string Name, string ContentType, long Size);

/// <summary>What became of one delivery's follow-up: its <see cref="Delivery.PhaseUpdate"/> text (for people), what is
/// already written (for the next attempt), and a retry time while it should be tried again.</summary>
public sealed record FollowUpOutcome(int Seq, string PhaseUpdate, int Attempts, DateTimeOffset? RetryAt, FollowUpProgress Progress)
{
    /// <summary>The parts of <see cref="PhaseUpdate"/> as codes (<see cref="PhaseUpdateCode"/>), for translations.</summary>
    public IReadOnlyList<CodedText> Codes { get; init; } = [];
}

/// <summary>The follow-up writes that succeeded, so a retry writes only the rest: <see cref="Phase"/> the note of the
/// phase written (null: not yet), the Process it went to, and whether the activity is logged.</summary>
public sealed record FollowUpProgress(string? Phase, long? ProcessId, bool Activity)
{
    /// <summary>The code of <see cref="Phase"/>.</summary>
    public CodedText? PhaseCode { get; init; }

    public static readonly FollowUpProgress None = new(null, null, false);
}

/// <summary>Stable codes of a delivery's reason (skips, cancellations, failures): clients translate these, never the
/// English sentence.</summary>
public static class ReasonCodes
{
    /// <summary>None of the ticked mail fields of the record holds an address.</summary>
    public const string NoAddress = "NoAddress";
    /// <summary>The address is not a valid e-mail address (args: <c>address</c>).</summary>
    public const string InvalidAddress = "InvalidAddress";
    /// <summary>The record no longer exists in HRBC.</summary>
    public const string RecordGone = "RecordGone";
    /// <summary>The job or resume the matching list started from no longer exists (args: <c>resource</c>).</summary>
    public const string AnchorGone = "AnchorGone";
    /// <summary>The mailing was cancelled before this delivery was sent.</summary>
    public const string CancelledBeforeSend = "CancelledBeforeSend";
    /// <summary>Microsoft 365 refused the message for good (args: <c>graphCode</c>, <c>graphMessage</c>).</summary>
    public const string GraphRefused = "GraphRefused";
    /// <summary>Every attempt failed (args: <c>attempts</c>, <c>last</c>).</summary>
    public const string GaveUp = "GaveUp";
    /// <summary>Throttled; waiting to try again (args: <c>graphCode</c>).</summary>
    public const string Throttled = "Throttled";
    /// <summary>A transient Microsoft 365 error; waiting to try again (args: <c>graphCode</c>, <c>graphMessage</c>).</summary>
    public const string GraphTransient = "GraphTransient";
    /// <summary>The address is on the tenant's suppression list.</summary>
    public const string Suppressed = "Suppressed";
    /// <summary>The record's opt-out field in HRBC (<c>OptOut:Fields</c>) says not to mail it (args: <c>field</c>).</summary>
    public const string OptedOutInHrbc = "OptedOutInHrbc";
}
