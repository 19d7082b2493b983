using BulkMail.Api.Hrbc;
using BulkMail.Tests.Support;

namespace BulkMail.Tests.Hardening;

/// <summary>HRBC writes at most once: a write whose answer is lost is looked up by its marker, never resent blindly.</summary>
public class HrbcWriteOnceTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static HrbcActivityEntry Entry(long resumeId, string? marker) =>
        new(HrbcResource.Resume.Value, resumeId, "11月のお知らせ", "BulkMail: sent", DateTimeOffset.UtcNow, marker);

    /// <summary>How many Activities in the tenant carry the marker (read from HRBC's own search).</summary>
    private static int ActivitiesOf(HrbcHarness hrbc, string marker) =>
        hrbc.Client.ReadAllAsync(HrbcResource.Activity, new HrbcQuery
        {
            Fields = HrbcFieldList.Of("Activity.P_Id", "Activity.P_Memo"),
            Condition = HrbcCondition.Where().Contains("Activity.P_Memo", marker),
        }, Ct).CountAsync(Ct).AsTask().GetAwaiter().GetResult();

    [Fact]
    public async Task An_activity_whose_write_succeeded_but_whose_answer_was_lost_exists_once()
    {
        await using var hrbc = await HrbcHarness.StartAsync();
        await hrbc.Client.GetAppUserAsync(Ct);
        var before = hrbc.Sandbox.Count("activity");
        hrbc.Sandbox.ClearRequests();

        hrbc.Sandbox.Faults.LostWriteAnswers = 1;
        var results = await hrbc.Client.CreateActivitiesAsync([Entry(10001, "[BulkMail m1-1]"), Entry(10002, "[BulkMail m1-2]")], Ct);

        Assert.All(results, r => Assert.True(r.Succeeded));
        // one write (its answer lost), then a read by marker, no second write
        Assert.Equal(["POST", "GET"], hrbc.ResourceRequests("activity").Select(r => r.Method));
        Assert.Equal(before + 2, hrbc.Sandbox.Count("activity"));
        Assert.Equal(1, ActivitiesOf(hrbc, "[BulkMail m1-1]"));
        Assert.Equal(1, ActivitiesOf(hrbc, "[BulkMail m1-2]"));
        Assert.EndsWith("[BulkMail m1-1]", hrbc.Sandbox.Fields("activity", results[0].Id!.Value)["Activity.P_Memo"]);
    }

    [Fact]
    public async Task Only_the_activities_not_found_are_written_again()
    {
        await using var hrbc = await HrbcHarness.StartAsync(settings: new Dictionary<string, string?> { ["Hrbc:MaxRequestLength"] = "1200" });
        await hrbc.Client.GetAppUserAsync(Ct);
        var before = hrbc.Sandbox.Count("activity");
        // a small request cap splits the write into several requests; the second one's answer is lost
        var entries = Enumerable.Range(1, 6).Select(i => Entry(10000 + i, $"[BulkMail m2-{i}]")).ToList();
        hrbc.Sandbox.ClearRequests();
        hrbc.Sandbox.Faults.LostWriteAnswers = 0;
        var results = await hrbc.Client.CreateActivitiesAsync(entries, Ct);
        Assert.All(results, r => Assert.True(r.Succeeded));
        var writes = hrbc.ResourceRequests("activity").Count(r => r.Method == "POST");
        Assert.True(writes > 1, $"{writes} write(s): the test needs a split write");

        var more = Enumerable.Range(1, 6).Select(i => Entry(10100 + i, $"[BulkMail m3-{i}]")).ToList();
        hrbc.Sandbox.ClearRequests();
        hrbc.Sandbox.Faults.LostWriteAnswers = 1;
        results = await hrbc.Client.CreateActivitiesAsync(more, Ct);
        Assert.All(results, r => Assert.True(r.Succeeded));
        Assert.Equal(before + 12, hrbc.Sandbox.Count("activity"));
        Assert.All(more, e => Assert.Equal(1, ActivitiesOf(hrbc, e.Marker!)));
    }

    [Fact]
    public async Task A_write_without_a_marker_is_not_repeated_after_a_lost_answer()
    {
        await using var hrbc = await HrbcHarness.StartAsync();
        await hrbc.Client.GetAppUserAsync(Ct);
        var before = hrbc.Sandbox.Count("activity");
        hrbc.Sandbox.ClearRequests();
        hrbc.Sandbox.Faults.LostWriteAnswers = 1;

        await Assert.ThrowsAnyAsync<Exception>(() => hrbc.Client.CreateActivitiesAsync([Entry(10003, null)], Ct));

        Assert.Equal(before + 1, hrbc.Sandbox.Count("activity"));
        Assert.Single(hrbc.ResourceRequests("activity"));
    }

    [Fact]
    public async Task A_phase_write_whose_answer_is_lost_is_not_resent_by_the_resilience_handler()
    {
        await using var hrbc = await HrbcHarness.StartAsync();
        await hrbc.Client.GetAppUserAsync(Ct);
        hrbc.Sandbox.ClearRequests();
        hrbc.Sandbox.Faults.LostWriteAnswers = 1;

        await Assert.ThrowsAnyAsync<Exception>(() => hrbc.Client.WriteAsync(HrbcResource.Resume,
            [new HrbcWriteItem(10004).Set("Resume.P_Memo", "x")], Ct));

        Assert.Single(hrbc.ResourceRequests("resume"), r => r.Method == "POST");
    }

    [Fact]
    public async Task Looking_first_finds_activities_an_earlier_call_wrote()
    {
        await using var hrbc = await HrbcHarness.StartAsync();
        await hrbc.Client.GetAppUserAsync(Ct);
        hrbc.Sandbox.Faults.LostWriteAnswers = 1;
        await Assert.ThrowsAnyAsync<Exception>(() => hrbc.Client.CreateActivitiesAsync([Entry(10005, "[BulkMail m4-1]")], Ct, lookFirst: false)
            .ContinueWith(t => t.Result[0].Succeeded ? throw new InvalidOperationException("found") : t.Result, Ct));
        var results = await hrbc.Client.CreateActivitiesAsync([Entry(10005, "[BulkMail m4-1]")], Ct, lookFirst: true);
        Assert.True(results[0].Succeeded);
        Assert.Equal(1, ActivitiesOf(hrbc, "[BulkMail m4-1]"));
    }
}
