using BulkMail.Api.Mailings.Scheduling;

namespace BulkMail.Tests.Mailings;

/// <summary>The pure window arithmetic: openings and finish times over nights, weekends, Japanese holidays and DST.</summary>
public class WindowCalculatorTests
{
    private static readonly JapaneseHolidays Holidays = JapaneseHolidays.Load();
    private static readonly TimeZoneInfo Tokyo = TimeZoneInfo.FindSystemTimeZoneById("Asia/Tokyo");
    private static readonly TimeZoneInfo NewYork = TimeZoneInfo.FindSystemTimeZoneById("America/New_York");
    private static readonly TimeSpan Jst = TimeSpan.FromHours(9);
    private static readonly string[] Weekdays = ["Mon", "Tue", "Wed", "Thu", "Fri"];

    private static SendingWindow Window(string from, string to, bool skipHolidays = true, string zone = "Asia/Tokyo", string[]? days = null) =>
        new(days ?? Weekdays, from, to, zone, skipHolidays);

    [Fact]
    public void Inside_the_window_the_opening_is_the_current_one_and_outside_it_the_next()
    {
        var w = Window("09:00", "18:00");
        var wednesday = new DateTimeOffset(2026, 12, 2, 12, 0, 0, Jst);
        Assert.Equal(new WindowOpening(wednesday.AddHours(-3), wednesday.AddHours(6)), WindowCalculator.OpeningAt(w, Tokyo, Holidays.Dates, wednesday));
        // at 18:00 sharp it is closed: the next is Thursday 09:00
        Assert.Equal(new DateTimeOffset(2026, 12, 3, 9, 0, 0, Jst),
            WindowCalculator.OpeningAt(w, Tokyo, Holidays.Dates, new DateTimeOffset(2026, 12, 2, 18, 0, 0, Jst))!.Value.Start);
        // Saturday → Monday
        Assert.Equal(new DateTimeOffset(2026, 12, 7, 9, 0, 0, Jst),
            WindowCalculator.OpeningAt(w, Tokyo, Holidays.Dates, new DateTimeOffset(2026, 12, 5, 8, 0, 0, Jst))!.Value.Start);
        // 00:30 Tokyo is the previous evening in UTC: the local date counts
        Assert.Equal(new DateTimeOffset(2026, 12, 2, 9, 0, 0, Jst),
            WindowCalculator.OpeningAt(w, Tokyo, Holidays.Dates, new DateTimeOffset(2026, 12, 1, 15, 30, 0, TimeSpan.Zero))!.Value.Start);
    }

    [Fact]
    public void Holidays_are_skipped_only_when_asked_and_the_silver_week_of_2026_is_three_of_them()
    {
        var friday = new DateTimeOffset(2026, 9, 18, 17, 0, 0, Jst);
        var work = TimeSpan.FromHours(2); // 1 h on Friday, 1 h on the next working day
        Assert.Equal(new DateTimeOffset(2026, 9, 24, 10, 0, 0, Jst), WindowCalculator.Finish(Window("09:00", "18:00"), Tokyo, Holidays.Dates, friday, work));
        Assert.Equal(new DateTimeOffset(2026, 9, 21, 10, 0, 0, Jst),
            WindowCalculator.Finish(Window("09:00", "18:00", skipHolidays: false), Tokyo, Holidays.Dates, friday, work));
        // New Year's Day 2027 is a Friday: Thursday evening → Monday 4th
        Assert.Equal(new DateTimeOffset(2027, 1, 4, 9, 30, 0, Jst),
            WindowCalculator.Finish(Window("09:00", "18:00"), Tokyo, Holidays.Dates, new DateTimeOffset(2026, 12, 31, 17, 30, 0, Jst), TimeSpan.FromHours(1)));
    }

    [Fact]
    public void Finishing_spans_as_many_openings_as_the_work_needs()
    {
        var w = Window("09:00", "18:00", days: ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"], skipHolidays: false);
        var start = new DateTimeOffset(2026, 12, 1, 9, 0, 0, Jst);
        Assert.Equal(start, WindowCalculator.Finish(w, Tokyo, Holidays.Dates, start, TimeSpan.Zero));
        Assert.Equal(start.AddHours(9), WindowCalculator.Finish(w, Tokyo, Holidays.Dates, start, TimeSpan.FromHours(9)));
        Assert.Equal(start.AddDays(2).AddHours(4), WindowCalculator.Finish(w, Tokyo, Holidays.Dates, start, TimeSpan.FromHours(22)));
        // a start before the opening waits for it
        Assert.Equal(start.AddMinutes(5), WindowCalculator.Finish(w, Tokyo, Holidays.Dates, start.AddHours(-3), TimeSpan.FromMinutes(5)));
        // until midnight
        Assert.Equal(new DateTimeOffset(2026, 12, 2, 0, 0, 0, Jst),
            WindowCalculator.OpeningAt(Window("20:00", "24:00", skipHolidays: false), Tokyo, Holidays.Dates, start)!.Value.End);
    }

    [Fact]
    public void In_a_zone_with_dst_each_day_opens_at_its_own_local_time()
    {
        // New York: EST (-5) until Sun 2026-03-08 02:00, then EDT (-4); back to EST on Sun 2026-11-01 02:00
        var w = Window("09:00", "17:00", skipHolidays: false, zone: "America/New_York");
        var fridayBefore = WindowCalculator.OpeningAt(w, NewYork, Holidays.Dates, new DateTimeOffset(2026, 3, 6, 12, 0, 0, TimeSpan.Zero))!.Value;
        Assert.Equal(new WindowOpening(new(2026, 3, 6, 14, 0, 0, TimeSpan.Zero), new(2026, 3, 6, 22, 0, 0, TimeSpan.Zero)), fridayBefore);
        var mondayAfter = WindowCalculator.OpeningAt(w, NewYork, Holidays.Dates, fridayBefore.End)!.Value;
        Assert.Equal(new WindowOpening(new(2026, 3, 9, 13, 0, 0, TimeSpan.Zero), new(2026, 3, 9, 21, 0, 0, TimeSpan.Zero)), mondayAfter);
        // two hours from Friday 16:00 EST: one on Friday, one from Monday 09:00 EDT
        Assert.Equal(new DateTimeOffset(2026, 3, 9, 14, 0, 0, TimeSpan.Zero),
            WindowCalculator.Finish(w, NewYork, Holidays.Dates, new DateTimeOffset(2026, 3, 6, 21, 0, 0, TimeSpan.Zero), TimeSpan.FromHours(2)));
        // and back in November
        Assert.Equal(new DateTimeOffset(2026, 11, 2, 14, 0, 0, TimeSpan.Zero),
            WindowCalculator.OpeningAt(w, NewYork, Holidays.Dates, new DateTimeOffset(2026, 10, 30, 22, 0, 0, TimeSpan.Zero))!.Value.Start);
        // Japanese holidays apply in any zone when asked: Monday 2026-09-21 (敬老の日) in New York
        var skip = Window("09:00", "17:00", skipHolidays: true, zone: "America/New_York");
        Assert.Equal(new DateTimeOffset(2026, 9, 24, 13, 0, 0, TimeSpan.Zero),
            WindowCalculator.OpeningAt(skip, NewYork, Holidays.Dates, new DateTimeOffset(2026, 9, 19, 0, 0, 0, TimeSpan.Zero))!.Value.Start);
    }

    [Fact]
    public void Local_times_the_clocks_skip_or_repeat_are_resolved_to_one_instant()
    {
        // 02:30 does not exist on 2026-03-08 in New York: the first valid local time after it, 03:00 EDT
        Assert.Equal(new DateTimeOffset(2026, 3, 8, 7, 0, 0, TimeSpan.Zero), WindowCalculator.Instant(new DateOnly(2026, 3, 8), 150, NewYork));
        // 01:30 happens twice on 2026-11-01: the first time (EDT)
        Assert.Equal(new DateTimeOffset(2026, 11, 1, 5, 30, 0, TimeSpan.Zero), WindowCalculator.Instant(new DateOnly(2026, 11, 1), 90, NewYork));
        var sunday = Window("02:30", "04:00", skipHolidays: false, zone: "America/New_York", days: ["Sun"]);
        var open = WindowCalculator.OpeningAt(sunday, NewYork, Holidays.Dates, new DateTimeOffset(2026, 3, 7, 0, 0, 0, TimeSpan.Zero))!.Value;
        Assert.Equal(TimeSpan.FromHours(1), open.End - open.Start);
    }

    [Fact]
    public void A_window_that_never_opens_has_no_opening_and_no_finish()
    {
        var never = Window("10:00", "09:00");
        Assert.Null(WindowCalculator.OpeningAt(never, Tokyo, Holidays.Dates, DateTimeOffset.UnixEpoch));
        Assert.Null(WindowCalculator.Finish(never, Tokyo, Holidays.Dates, DateTimeOffset.UnixEpoch, TimeSpan.FromMinutes(1)));
    }
}
