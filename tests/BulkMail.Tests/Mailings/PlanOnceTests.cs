using System.Net;
using System.Net.Http.Json;
using BulkMail.Api.Templates;
using BulkMail.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace BulkMail.Tests.Mailings;

/// <summary>A mailing's plan (template compiled, anchor read) is built once per worker run and once per preview,
/// counted where it costs: the template engine's compilations and the anchor reads HRBC receives.</summary>
public class PlanOnceTests(RedisServerFixture redis)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private const long JobId = 30004;

    private static object JobToResumes(long[] ids) => new
    {
        mode = "JobToResumes",
        anchorId = JobId,
        scope = new { kind = "Checked", ids },
        mailFields = new[] { "Resume.P_Mail" },
        subject = "{{Person.P_Name}}様へ {{Job.P_Position}}のご紹介",
        body = "<p>{{Person.P_Name}}様</p><p>{{Client.P_Name}}の{{Job.P_Position}}をご紹介します。{{User.P_Name}}</p>",
    };

    private static int AnchorReads(EngineHarness e) =>
        e.Hrbc.ResourceRequests("job").Count(r => r.Method == "GET" && r.PathAndQuery.Contains(JobId.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal));

    [Fact]
    public async Task A_worker_run_compiles_the_template_once_and_reads_the_anchor_once()
    {
        await using var e = await EngineHarness.StartAsync(redis);
        var engine = e.Api.Services.GetRequiredService<MailTemplateEngine>();
        e.Hrbc.Sandbox.ClearRequests();
        var before = engine.Compilations;

        // Preparing → expansion → sending → Completed in one run of the worker.
        var id = await e.SubmitAsync(JobToResumes([10001, 10002, 10003, 10004]));
        await e.WaitForAsync(id, TimeSpan.FromMinutes(2), "Completed");

        // The submit's validation once, the run once (it was three: validation, expansion's plan, the sending plan).
        Assert.Equal(2, engine.Compilations - before);
        Assert.Equal(2, AnchorReads(e));
        Assert.NotEmpty(e.Graph.Sent(EngineHarness.User));
    }

    [Fact]
    public async Task A_preview_compiles_the_template_once()
    {
        await using var e = await EngineHarness.StartAsync(redis, worker: false);
        var engine = e.Api.Services.GetRequiredService<MailTemplateEngine>();
        var before = engine.Compilations;

        var response = await e.Http.PostAsJsonAsync("/api/mailings/preview", JobToResumes([10001, 10002]), Ct);
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync(Ct));

        // The validation's compiled template is the plan's (it was compiled twice: ValidateAsync and PlanAsync).
        Assert.Equal(1, engine.Compilations - before);
    }
}
