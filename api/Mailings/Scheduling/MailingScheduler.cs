namespace BulkMail.Api.Mailings.Scheduling;

/// <summary>
/// A schedule against the clock: when a mailing may send next, whether its window is open now, and when its sending is
/// done if it only runs while the window is open. Pure apart from the holidays it was given (a singleton).
/// </summary>
public sealed class MailingScheduler(JapaneseHolidays holidays)
{
    public JapaneseHolidays Holidays { get; } = holidays;

    /// <summary>The window opening in which a mailing scheduled by <paramref name="schedule"/> may send at or after
    /// <paramref name="t"/> (never before NotBefore): its start (≤ t when open at t) and end (null: no window, no end).
    /// Null when the window never opens again.</summary>
    public (DateTimeOffset Start, DateTimeOffset? End)? NextOpening(MailingSchedule schedule, DateTimeOffset t)
    {
        var from = schedule.NotBefore > t ? schedule.NotBefore : t;
        if (schedule.Window is not { } window)
        {
            return (from, null);
        }
        return WindowCalculator.OpeningAt(window, Zone(window), Holidays.Dates, from) is { } open
            ? (open.Start > from ? open.Start : from, open.End)
            : null;
    }

    /// <summary>When <paramref name="work"/> of sending that may begin at <paramref name="start"/> is done, inside the
    /// window if there is one (null: the window never opens).</summary>
    public DateTimeOffset? Finish(SendingWindow? window, DateTimeOffset start, TimeSpan work) =>
        window is null ? start + work : WindowCalculator.Finish(window, Zone(window), Holidays.Dates, start, work);

    public static TimeZoneInfo Zone(SendingWindow window) => TimeZoneInfo.FindSystemTimeZoneById(window.TimeZone);
}
