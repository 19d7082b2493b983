using System.Diagnostics;
using System.Text.Json;
using BulkMail.Api.Mailings.Scheduling;
using BulkMail.Tests.Infrastructure;

namespace BulkMail.Tests.Mailings;

/// <summary>
/// api/Mailings/Scheduling/japan-holidays.json is generated (scripts/holidays.sh) from @holiday-jp/holiday_jp, pinned in
/// addin/package.json and installed by <c>npm ci</c>: this fails when the committed file is not what the package gives,
/// and checks the dates the NuGet package PublicHoliday gets wrong (docs/scheduling.md).
/// </summary>
public class HolidayDataTests
{
    private const string Fix = "run `bash scripts/holidays.sh` and commit the result";

    private static string Committed => Path.Combine(ApiTypesTests.RepoRoot(), "api", "Mailings", "Scheduling", "japan-holidays.json");

    [Fact]
    public async Task The_committed_file_is_what_the_installed_package_gives()
    {
        var root = ApiTypesTests.RepoRoot();
        var package = Path.Combine(root, "addin", "node_modules", "@holiday-jp", "holiday_jp");
        Assert.True(Directory.Exists(package), "addin/node_modules/@holiday-jp/holiday_jp is missing: run `npm ci` in addin/");
        var version = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(package, "package.json"), TestContext.Current.CancellationToken))
            .RootElement.GetProperty("version").GetString();
        // the package's own data, read by node as the script reads it
        var start = new ProcessStartInfo("node")
        {
            ArgumentList =
            {
                "-e",
                "const h = require(process.argv[1]); const o = {}; for (const k of Object.keys(h).sort()) o[k] = h[k].name; process.stdout.write(JSON.stringify(o));",
                Path.Combine(package, "lib", "holidays.js"),
            },
            RedirectStandardOutput = true,
            StandardOutputEncoding = System.Text.Encoding.UTF8,
        };
        using var node = Process.Start(start)!;
        var output = await node.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        await node.WaitForExitAsync(TestContext.Current.CancellationToken);
        Assert.Equal(0, node.ExitCode);
        var fromPackage = JsonSerializer.Deserialize<Dictionary<string, string>>(output)!;

        using var committed = JsonDocument.Parse(await File.ReadAllTextAsync(Committed, TestContext.Current.CancellationToken));
        var dates = committed.RootElement.GetProperty("dates").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString());
        Assert.True(fromPackage.Count == dates.Count && fromPackage.All(d => dates.GetValueOrDefault(d.Key) == d.Value),
            $"japan-holidays.json is not what @holiday-jp/holiday_jp {version} gives: {Fix}.");
        Assert.StartsWith($"@holiday-jp/holiday_jp {version} (", committed.RootElement.GetProperty("source").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public void The_embedded_data_is_the_committed_file_and_has_the_dates_other_packages_miss()
    {
        var holidays = JapaneseHolidays.Load();
        using (var file = File.OpenRead(Committed))
        {
            var committed = JapaneseHolidays.Parse(file);
            Assert.Equal(committed.Dates.Order(), holidays.Dates.Order());
            Assert.Equal(committed.Source, holidays.Source);
        }
        Assert.Contains("国民の祝日について", holidays.Source, StringComparison.Ordinal);
        Assert.Equal((new DateOnly(1970, 1, 1), 2050), (holidays.First, holidays.Last.Year));
        // 国民の休日 between 敬老の日 and 秋分の日; the 2019 enthronement; the Olympic moves of 2020 and 2021
        foreach (var date in new[] { "2026-09-22", "2019-04-30", "2019-05-01", "2019-05-02", "2019-10-22", "2020-07-23", "2020-07-24", "2020-08-10",
                     "2021-07-22", "2021-07-23", "2021-08-09" })
        {
            Assert.Contains(DateOnly.Parse(date, System.Globalization.CultureInfo.InvariantCulture), holidays.Dates);
        }
        // and not where the moved holidays would have been
        foreach (var date in new[] { "2020-07-20", "2020-08-11", "2020-10-12", "2021-07-19", "2021-08-11", "2021-10-11" })
        {
            Assert.DoesNotContain(DateOnly.Parse(date, System.Globalization.CultureInfo.InvariantCulture), holidays.Dates);
        }
        Assert.Equal("休日", holidays.Names[new DateOnly(2026, 9, 22)]);
    }
}
