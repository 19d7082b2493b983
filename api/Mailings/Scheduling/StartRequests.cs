using System.Globalization;
using System.Text.RegularExpressions;
using BulkMail.Api.Infrastructure;

namespace BulkMail.Api.Mailings.Scheduling;

/// <summary>The optional body of <c>POST /api/mailings/{id}/start</c>.</summary>
/// <param name="SendAt">When to begin, ISO 8601 with its offset (e.g. <c>2026-12-02T09:00:00+09:00</c>); null: now.</param>
/// <param name="Window">Send only inside this window; null: at any time.</param>
/// <param name="UndoSeconds">Seconds after Start in which nothing is handed to Microsoft 365 and Undo cancels (0–600);
/// null: <c>Sending:UndoSeconds</c>.</param>
/// <param name="DryRun">Change nothing; answer the status the mailing would have (state, resumesAt, finishesAt, …).</param>
public sealed record StartRequest(string? SendAt = null, WindowRequest? Window = null, int? UndoSeconds = null, bool? DryRun = null);

/// <param name="Days">Mon, Tue, Wed, Thu, Fri, Sat, Sun (each at most once).</param>
/// <param name="From">Local start time, HH:mm.</param>
/// <param name="To">Local end time, HH:mm (up to 24:00), after <paramref name="From"/>.</param>
/// <param name="TimeZone">IANA time zone of from/to and of the days; default Asia/Tokyo.</param>
/// <param name="SkipHolidays">Never send on a Japanese public holiday (a date in <paramref name="TimeZone"/>); default true.</param>
public sealed record WindowRequest(IReadOnlyList<string>? Days = null, string? From = null, string? To = null, string? TimeZone = null, bool? SkipHolidays = null);

/// <summary>What a valid start body asks for: the time, the window (defaults filled in) and the undo seconds.</summary>
public sealed record StartPlan(DateTimeOffset? SendAt, SendingWindow? Window, int UndoSeconds, bool DryRun)
{
    /// <summary>Sending can begin at Start (no time, no window, no undo window): the mailing is queued at once.</summary>
    public bool Immediate => SendAt is null && Window is null && UndoSeconds == 0;

    /// <summary>The schedule stored by Start at <paramref name="now"/>.</summary>
    public MailingSchedule ScheduleAt(DateTimeOffset now, string stamp)
    {
        var undoUntil = UndoSeconds > 0 ? now.AddSeconds(UndoSeconds) : (DateTimeOffset?)null;
        var notBefore = now;
        if (SendAt is { } at && at > notBefore)
        {
            notBefore = at;
        }
        if (undoUntil is { } u && u > notBefore)
        {
            notBefore = u;
        }
        return new MailingSchedule { SendAt = SendAt, Window = Window, UndoUntil = undoUntil, NotBefore = notBefore, Stamp = stamp };
    }
}

/// <summary>Validates a start body: problems name the field (<c>sendAt</c>, <c>window.days</c>, <c>window.from</c>,
/// <c>window.to</c>, <c>window.timeZone</c>, <c>undoSeconds</c>) with a stable code.</summary>
public static partial class StartRequests
{
    public const string DefaultTimeZone = "Asia/Tokyo";
    public const int MaxUndoSeconds = 600;

    /// <summary>A time this long ago is still "now" (the pane's clock, the request's trip); earlier is a mistake.</summary>
    public static readonly TimeSpan PastTolerance = TimeSpan.FromMinutes(5);

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:\d{2})$", RegexOptions.CultureInvariant)]
    private static partial Regex IsoWithOffset();

    /// <param name="horizon">How far ahead sendAt may be (mailings are kept for the retention after their last change).</param>
    public static (StartPlan? Plan, Dictionary<string, CodedText[]> Errors) Validate(StartRequest? request, int defaultUndoSeconds, DateTimeOffset now,
        TimeSpan horizon, IReadOnlySet<DateOnly> holidays)
    {
        var errors = new Dictionary<string, CodedText[]>(StringComparer.Ordinal);
        request ??= new StartRequest();
        DateTimeOffset? sendAt = null;
        if (request.SendAt is { } text)
        {
            if (!IsoWithOffset().IsMatch(text.Trim())
                || !DateTimeOffset.TryParse(text.Trim(), CultureInfo.InvariantCulture, DateTimeStyles.None, out var parsed))
            {
                errors["sendAt"] = [CodedText.Of(ProblemCode.SendAtInvalid)];
            }
            else if (parsed < now - PastTolerance)
            {
                errors["sendAt"] = [CodedText.Of(ProblemCode.SendAtInPast, ("sendAt", text.Trim()))];
            }
            else if (parsed > now + horizon)
            {
                errors["sendAt"] = [CodedText.Of(ProblemCode.SendAtTooFar, ("days", (int)horizon.TotalDays))];
            }
            else if (parsed > now)
            {
                sendAt = parsed; // a time just past is now
            }
        }
        var undo = request.UndoSeconds ?? defaultUndoSeconds;
        if (undo is < 0 or > MaxUndoSeconds)
        {
            errors["undoSeconds"] = [CodedText.Of(ProblemCode.UndoSecondsOutOfRange, ("min", 0), ("max", MaxUndoSeconds))];
        }
        var window = request.Window is { } w ? WindowOf(w, errors) : null;
        if (window is not null && errors.Count == 0
            && WindowCalculator.OpeningAt(window, TimeZoneInfo.FindSystemTimeZoneById(window.TimeZone), holidays, sendAt ?? now) is null)
        {
            errors["window"] = [CodedText.Of(ProblemCode.WindowNeverOpens, ("days", WindowCalculator.SearchDays))];
        }
        return errors.Count > 0 ? (null, errors) : (new StartPlan(sendAt, window, undo, request.DryRun == true), errors);
    }

    private static SendingWindow? WindowOf(WindowRequest w, Dictionary<string, CodedText[]> errors)
    {
        var days = w.Days ?? [];
        if (days.Count == 0 || days.Any(d => SendingWindow.DayOf(d) is null) || days.Distinct(StringComparer.Ordinal).Count() != days.Count)
        {
            errors["window.days"] = [CodedText.Of(ProblemCode.WindowDaysInvalid)];
        }
        var from = SendingWindow.MinutesOf(w.From);
        if (from is null || from == 24 * 60)
        {
            errors["window.from"] = [CodedText.Of(ProblemCode.WindowTimeInvalid, ("value", w.From))];
        }
        var to = SendingWindow.MinutesOf(w.To);
        if (to is null)
        {
            errors["window.to"] = [CodedText.Of(ProblemCode.WindowTimeInvalid, ("value", w.To))];
        }
        else if (from is not null && to <= from)
        {
            errors["window.to"] = [CodedText.Of(ProblemCode.WindowEmpty, ("from", w.From), ("to", w.To))];
        }
        var zone = string.IsNullOrWhiteSpace(w.TimeZone) ? DefaultTimeZone : w.TimeZone.Trim();
        if (!TimeZoneInfo.TryFindSystemTimeZoneById(zone, out _))
        {
            errors["window.timeZone"] = [CodedText.Of(ProblemCode.TimeZoneUnknown, ("tz", zone))];
        }
        // Days in the week's order, once each, as the status shows them.
        return errors.Keys.Any(k => k.StartsWith("window", StringComparison.Ordinal))
            ? null
            : new SendingWindow([.. SendingWindow.DayNames.Where(days.Contains)], w.From!, w.To!, zone, w.SkipHolidays ?? true);
    }
}
