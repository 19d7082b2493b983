using System.Globalization;

namespace BulkMail.Api.Mailings.Scheduling;

/// <summary>
/// When a mailing may send: on <see cref="Days"/> (<c>Mon</c> … <c>Sun</c>) from <see cref="From"/> to <see cref="To"/>
/// (<c>HH:mm</c>, local to <see cref="TimeZone"/>, an IANA name), and, with <see cref="SkipHolidays"/>, never on a
/// Japanese public holiday (a date in that time zone, whatever the zone is). Validated by <see cref="StartRequests"/>.
/// </summary>
public sealed record SendingWindow(IReadOnlyList<string> Days, string From, string To, string TimeZone, bool SkipHolidays)
{
    /// <summary>The day names of <see cref="Days"/>, Monday first.</summary>
    public static IReadOnlyList<string> DayNames { get; } = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

    public static DayOfWeek? DayOf(string name) => name switch
    {
        "Mon" => DayOfWeek.Monday,
        "Tue" => DayOfWeek.Tuesday,
        "Wed" => DayOfWeek.Wednesday,
        "Thu" => DayOfWeek.Thursday,
        "Fri" => DayOfWeek.Friday,
        "Sat" => DayOfWeek.Saturday,
        "Sun" => DayOfWeek.Sunday,
        _ => null,
    };

    /// <summary>Minutes after local midnight of <c>HH:mm</c> (00:00 to 24:00); null when it is not that form.</summary>
    public static int? MinutesOf(string? hhmm)
    {
        if (hhmm is not { Length: 5 } || hhmm[2] != ':'
            || !int.TryParse(hhmm.AsSpan(0, 2), NumberStyles.None, CultureInfo.InvariantCulture, out var h)
            || !int.TryParse(hhmm.AsSpan(3, 2), NumberStyles.None, CultureInfo.InvariantCulture, out var m)
            || m > 59 || h > 24 || (h == 24 && m != 0))
        {
            return null;
        }
        return h * 60 + m;
    }
}

/// <summary>
/// What Start stored: the time asked for, the sending window, the end of the undo window, and the first moment anything
/// may be handed to Microsoft 365 (<see cref="NotBefore"/>: the latest of Start, <see cref="SendAt"/> and
/// <see cref="UndoUntil"/>). <see cref="Stamp"/> names this version of the schedule, so that a worker never promotes a
/// mailing by a schedule that was replaced meanwhile.
/// </summary>
public sealed record MailingSchedule
{
    public DateTimeOffset? SendAt { get; init; }
    public SendingWindow? Window { get; init; }
    public DateTimeOffset? UndoUntil { get; init; }
    public required DateTimeOffset NotBefore { get; init; }
    public required string Stamp { get; init; }
}

/// <summary>One stretch of time in which a window is open: [<see cref="Start"/>, <see cref="End"/>).</summary>
public readonly record struct WindowOpening(DateTimeOffset Start, DateTimeOffset End);

/// <summary>
/// The arithmetic of sending windows, pure: which stretch is open at or after an instant, and when a given amount of
/// sending time is done if it may only run while the window is open. Days are local dates of the window's zone; a from/to
/// that a DST change skips (02:30 on a spring-forward day) moves to the first valid local time after it, and one that
/// happens twice (fall back) is its first occurrence.
/// </summary>
public static class WindowCalculator
{
    /// <summary>How far ahead an opening is looked for; a window that does not open within it never opens.</summary>
    public const int SearchDays = 400;

    /// <summary>The opening that contains <paramref name="t"/> (its <c>Start</c> ≤ t) or else the first one after it;
    /// null when the window does not open within <see cref="SearchDays"/>.</summary>
    public static WindowOpening? OpeningAt(SendingWindow window, TimeZoneInfo zone, IReadOnlySet<DateOnly> holidays, DateTimeOffset t)
    {
        var from = SendingWindow.MinutesOf(window.From) ?? throw new ArgumentException("window.from is not HH:mm", nameof(window));
        var to = SendingWindow.MinutesOf(window.To) ?? throw new ArgumentException("window.to is not HH:mm", nameof(window));
        var days = window.Days.Select(SendingWindow.DayOf).OfType<DayOfWeek>().ToHashSet();
        if (to <= from || days.Count == 0)
        {
            return null;
        }
        var day = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(t, zone).DateTime).AddDays(-1);
        for (var i = 0; i < SearchDays; i++, day = day.AddDays(1))
        {
            if (!days.Contains(day.DayOfWeek) || (window.SkipHolidays && holidays.Contains(day)))
            {
                continue;
            }
            var start = Instant(day, from, zone);
            var end = Instant(day, to, zone);
            if (end > t && end > start)
            {
                return new WindowOpening(start, end);
            }
        }
        return null;
    }

    /// <summary>When <paramref name="work"/> of sending that begins at <paramref name="start"/> is done if it runs only
    /// while the window is open (null without a window: it never opens).</summary>
    public static DateTimeOffset? Finish(SendingWindow window, TimeZoneInfo zone, IReadOnlySet<DateOnly> holidays, DateTimeOffset start, TimeSpan work)
    {
        var t = start;
        var left = work < TimeSpan.Zero ? TimeSpan.Zero : work;
        // Each round uses up one opening; 20,000 is years of daily openings.
        for (var round = 0; round < 20_000; round++)
        {
            if (OpeningAt(window, zone, holidays, t) is not { } open)
            {
                return null;
            }
            var from = open.Start > t ? open.Start : t;
            var available = open.End - from;
            if (left <= available)
            {
                return from + left;
            }
            left -= available;
            t = open.End;
        }
        return null;
    }

    /// <summary>The instant of a local time (minutes after midnight, 1440 = the next midnight) on a local date.</summary>
    public static DateTimeOffset Instant(DateOnly day, int minutes, TimeZoneInfo zone)
    {
        var local = day.ToDateTime(TimeOnly.MinValue, DateTimeKind.Unspecified).AddMinutes(minutes);
        // a local time the clocks skip (spring forward): the first one that exists after it
        for (var i = 0; i < 24 * 60 && zone.IsInvalidTime(local); i++)
        {
            local = local.AddMinutes(1);
        }
        var offset = zone.IsAmbiguousTime(local) ? zone.GetAmbiguousTimeOffsets(local).Max() : zone.GetUtcOffset(local);
        return new DateTimeOffset(local, offset);
    }
}
