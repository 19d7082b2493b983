using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using BulkMail.Api.Hrbc;
using BulkMail.Tests.Support;

namespace BulkMail.Tests.Hrbc;

/// <summary>The task pane's HRBC endpoints, through the API on Kestrel, against the HRBC sandbox.</summary>
public class HrbcApiTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Resumes_come_a_page_at_a_time_with_the_total()
    {
        await using var hrbc = await HrbcHarness.StartAsync();
        await using var api = BulkMailApplication.StartWith(hrbc);
        using var http = api.CreateClient();

        var first = await http.GetFromJsonAsync<JsonElement>("/api/hrbc/resumes?count=200", Ct);
        var last = await http.GetFromJsonAsync<JsonElement>("/api/hrbc/resumes?count=200&start=1100", Ct);

        Assert.Equal(1200, first.GetProperty("total").GetInt32());
        Assert.Equal(200, first.GetProperty("items").GetArrayLength());
        Assert.Equal(100, last.GetProperty("items").GetArrayLength());
        var item = first.GetProperty("items")[0];
        Assert.Equal(10001, item.GetProperty("id").GetInt64());
        Assert.Equal(item.GetProperty("fields").GetProperty("Person.P_Name").GetString(), item.GetProperty("name").GetString());
        Assert.True(item.GetProperty("fields").TryGetProperty("Resume.P_Mail", out _));
    }

    [Fact]
    public async Task A_matching_list_starts_from_the_option_fields_the_anchor_shares_with_it()
    {
        await using var hrbc = await HrbcHarness.StartAsync();
        await using var api = BulkMailApplication.StartWith(hrbc);
        using var http = api.CreateClient();
        var job = (await hrbc.Client.FirstAsync(HrbcResource.Job, 30004, HrbcFieldList.Of("Job.P_Id", "Job.P_Area", "Job.P_EmploymentType"), Ct))!;
        var areas = ((HrbcOptionSet)job.Fields["Job.P_Area"]).Options.Select(o => o.Alias).ToList();
        Assert.NotEmpty(areas);

        var match = await http.GetFromJsonAsync<JsonElement>("/api/hrbc/jobs/30004/match", Ct);

        // Job.P_Area and Resume.P_ExpectArea share Option.P_Area; the job's employment type has no resume field of its
        // master, and the phases are each resource's own: one condition.
        Assert.Equal("resumes", match.GetProperty("resource").GetString());
        var condition = Assert.Single(match.GetProperty("conditions").EnumerateArray());
        Assert.Equal(("Resume.P_ExpectArea", "希望勤務地", "Job.P_Area", "Option.P_Area"), (condition.GetProperty("field").GetString(),
            condition.GetProperty("label").GetString(), condition.GetProperty("anchorField").GetString(), condition.GetProperty("optionRoot").GetString()));
        var options = condition.GetProperty("options").EnumerateArray().ToList();
        Assert.Equal(areas, options.Select(o => o.GetProperty("alias").GetString()));
        Assert.DoesNotContain(options, o => o.GetProperty("name").GetString()!.StartsWith("Option.", StringComparison.Ordinal));

        // The term as the pane sends it narrows the list to resumes wanting one of the job's areas.
        var term = $"Resume.P_ExpectArea:or={string.Join(':', areas)}";
        var list = await http.GetFromJsonAsync<JsonElement>("/api/hrbc/resumes?count=200&condition=" + Uri.EscapeDataString(term), Ct);
        Assert.InRange(list.GetProperty("total").GetInt32(), 1, 1199);
        foreach (var item in list.GetProperty("items").EnumerateArray().Take(5))
        {
            var resume = (await hrbc.Client.FirstAsync(HrbcResource.Resume, item.GetProperty("id").GetInt64(), HrbcFieldList.Of("Resume.P_Id", "Resume.P_ExpectArea"), Ct))!;
            Assert.Contains(((HrbcOptionSet)resume.Fields["Resume.P_ExpectArea"]).Options, o => areas.Contains(o.Alias));
        }

        // From a resume: the job list's Job.P_Area, from the resume's desired areas.
        var back = await http.GetFromJsonAsync<JsonElement>("/api/hrbc/resumes/10001/match", Ct);
        Assert.Equal("jobs", back.GetProperty("resource").GetString());
        Assert.Equal("Job.P_Area", Assert.Single(back.GetProperty("conditions").EnumerateArray()).GetProperty("field").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/api/hrbc/recruiters/40001/match", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/api/hrbc/jobs/99999999/match", Ct)).StatusCode);
    }

    [Fact]
    public async Task Keywords_and_a_condition_search_resumes()
    {
        await using var hrbc = await HrbcHarness.StartAsync();
        await using var api = BulkMailApplication.StartWith(hrbc);
        using var http = api.CreateClient();
        var first = await http.GetFromJsonAsync<JsonElement>("/api/hrbc/resumes?count=1", Ct);
        var family = first.GetProperty("items")[0].GetProperty("name").GetString()!.Split(' ', '\u3000')[0];

        var found = await http.GetFromJsonAsync<JsonElement>($"/api/hrbc/resumes?count=200&keywords={Uri.EscapeDataString(family)}", Ct);
        var ranged = await http.GetFromJsonAsync<JsonElement>(
            "/api/hrbc/resumes?condition=" + Uri.EscapeDataString("Resume.P_Id:ge=10011,Resume.P_Id:le=10020"), Ct);

        Assert.InRange(found.GetProperty("total").GetInt32(), 1, 1199);
        Assert.All(found.GetProperty("items").EnumerateArray(), i => Assert.Contains(family, i.GetProperty("name").GetString()));
        Assert.Equal(10, ranged.GetProperty("total").GetInt32());
    }

    [Theory]
    [InlineData(" ")]
    [InlineData("\u3000")]
    [InlineData(" \u3000 ")]
    public async Task Words_separated_by_spaces_are_and_terms(string separator)
    {
        await using var hrbc = await HrbcHarness.StartAsync();
        await using var api = BulkMailApplication.StartWith(hrbc);
        using var http = api.CreateClient();
        var first = (await http.GetFromJsonAsync<JsonElement>("/api/hrbc/resumes?count=1", Ct)).GetProperty("items")[0];
        var parts = first.GetProperty("name").GetString()!.Split(' ', '\u3000');
        var (family, given) = (parts[0], parts[^1]);

        var both = await http.GetFromJsonAsync<JsonElement>(
            $"/api/hrbc/resumes?count=200&keywords={Uri.EscapeDataString(family + separator + given)}", Ct);
        var familyOnly = await http.GetFromJsonAsync<JsonElement>($"/api/hrbc/resumes?count=200&keywords={Uri.EscapeDataString(family)}", Ct);

        // Both words must match (AND), so the two-word search finds the first record and never more than one word alone.
        Assert.Contains(both.GetProperty("items").EnumerateArray(), i => i.GetProperty("id").GetInt64() == first.GetProperty("id").GetInt64());
        Assert.All(both.GetProperty("items").EnumerateArray(), i =>
        {
            Assert.Contains(family, i.GetProperty("name").GetString());
            Assert.Contains(given, i.GetProperty("name").GetString());
        });
        Assert.True(both.GetProperty("total").GetInt32() <= familyOnly.GetProperty("total").GetInt32());
    }

    [Theory]
    [InlineData("田中 拓也", "田中,拓也")]
    [InlineData("田中\u3000拓也", "田中,拓也")]
    [InlineData("  田中 \u3000 拓也,東京 ", "田中,拓也,東京")]
    [InlineData("田中、拓也", "田中,拓也")]
    [InlineData("tanaka@example.com", "tanaka@example.com")]
    [InlineData(" \u3000 ", null)]
    public void Spaces_become_hrbc_commas(string typed, string? sent)
    {
        Assert.Equal(sent, new BulkMail.Api.Hrbc.HrbcQuery { Keywords = typed }.Keywords);
    }

    [Fact]
    public async Task List_items_carry_id_phase_owner_updated_and_date_of_birth()
    {
        await using var hrbc = await HrbcHarness.StartAsync();
        await using var api = BulkMailApplication.StartWith(hrbc);
        using var http = api.CreateClient();

        var resume = (await http.GetFromJsonAsync<JsonElement>("/api/hrbc/resumes?count=1", Ct)).GetProperty("items")[0].GetProperty("fields");
        var job = (await http.GetFromJsonAsync<JsonElement>("/api/hrbc/jobs?count=1", Ct)).GetProperty("items")[0].GetProperty("fields");

        Assert.Equal("10001", resume.GetProperty("Resume.P_Id").GetString());
        Assert.False(string.IsNullOrEmpty(resume.GetProperty("Resume.P_Phase").GetString()));
        Assert.False(string.IsNullOrEmpty(resume.GetProperty("User.P_Name").GetString()));
        Assert.Matches(@"^\d{4}/\d{2}/\d{2}", resume.GetProperty("Resume.P_UpdateDate").GetString());
        Assert.Matches(@"^\d{4}/\d{2}/\d{2}", resume.GetProperty("Resume.P_DateOfBirth").GetString());
        Assert.False(string.IsNullOrEmpty(job.GetProperty("Job.P_Phase").GetString()));
        Assert.False(string.IsNullOrEmpty(job.GetProperty("Client.P_Name").GetString()));
        Assert.False(string.IsNullOrEmpty(job.GetProperty("User.P_Name").GetString()));
    }

    [Theory]
    [InlineData("/api/hrbc/resumes?count=500", "count")]
    [InlineData("/api/hrbc/resumes?count=abc", "count")]
    [InlineData("/api/hrbc/resumes?start=-1", "start")]
    [InlineData("/api/hrbc/resumes?condition=Resume.P_Id:like=3", "condition")]
    [InlineData("/api/hrbc/resumes?condition=Resume.P_Nope=3", "condition")]
    [InlineData("/api/hrbc/resumes?condition=Job.P_Id=3", "condition")]
    public async Task Bad_parameters_are_a_400_problem_naming_the_parameter(string url, string parameter)
    {
        await using var hrbc = await HrbcHarness.StartAsync();
        await using var api = BulkMailApplication.StartWith(hrbc);
        using var http = api.CreateClient();

        var response = await http.GetAsync(url, Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.True(problem.GetProperty("errors").TryGetProperty(parameter, out _), problem.ToString());
    }

    [Fact]
    public async Task Keywords_over_100_characters_are_refused()
    {
        await using var hrbc = await HrbcHarness.StartAsync();
        await using var api = BulkMailApplication.StartWith(hrbc);
        using var http = api.CreateClient();

        var response = await http.GetAsync("/api/hrbc/resumes?keywords=" + new string('a', 101), Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.True(problem.GetProperty("errors").TryGetProperty("keywords", out _));
    }

    [Fact]
    public async Task An_hrbc_error_is_a_502_problem_with_the_hrbc_code()
    {
        await using var hrbc = await HrbcHarness.StartAsync();
        await using var api = BulkMailApplication.StartWith(hrbc);
        using var http = api.CreateClient();
        (await http.GetAsync("/api/hrbc/jobs?count=1", Ct)).EnsureSuccessStatusCode();

        hrbc.Sandbox.Faults.RevokeGrant();
        var response = await http.GetAsync("/api/hrbc/jobs?count=1", Ct);

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.Equal(403, problem.GetProperty("hrbcCode").GetInt32());
        Assert.Contains("403", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Unreachable_hrbc_is_a_502_problem_not_a_bare_500()
    {
        await using var hrbc = await HrbcHarness.StartAsync();
        await using var api = BulkMailApplication.StartWith(hrbc, new Dictionary<string, string?> { ["Hrbc:MaxRetries"] = "1" });
        using var http = api.CreateClient();

        hrbc.Sandbox.Faults.DroppedConnections = 100;
        var response = await http.GetAsync("/api/hrbc/recruiters", Ct);

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task A_job_comes_with_its_attachments_metadata()
    {
        await using var hrbc = await HrbcHarness.StartAsync();
        await using var api = BulkMailApplication.StartWith(hrbc);
        using var http = api.CreateClient();

        JsonElement? withPdf = null;
        for (var id = 30001; withPdf is null && id <= 30008; id++)
        {
            var job = await http.GetFromJsonAsync<JsonElement>($"/api/hrbc/jobs/{id}", Ct);
            Assert.Equal(id, job.GetProperty("id").GetInt64());
            Assert.False(string.IsNullOrEmpty(job.GetProperty("fields").GetProperty("Client.P_Name").GetString()));
            if (job.GetProperty("attachments").GetArrayLength() > 0)
            {
                withPdf = job;
            }
        }

        Assert.NotNull(withPdf);
        var attachment = withPdf.Value.GetProperty("attachments")[0];
        Assert.Equal("application/pdf", attachment.GetProperty("contentType").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/api/hrbc/jobs/99999999", Ct)).StatusCode);
    }

    [Fact]
    public async Task Field_metadata_marks_mail_fields_including_custom_ones()
    {
        await using var hrbc = await HrbcHarness.StartAsync();
        await using var api = BulkMailApplication.StartWith(hrbc);
        using var http = api.CreateClient();

        var fields = await http.GetFromJsonAsync<JsonElement>("/api/hrbc/recruiters/fields", Ct);
        var mail = fields.EnumerateArray().Where(f => f.GetProperty("isMail").GetBoolean()).Select(f => f.GetProperty("alias").GetString()).ToList();

        Assert.Contains("Recruiter.P_Mail", mail);
        Assert.Contains("Recruiter.U_SubMail", mail);
        foreach (var resource in new[] { "Resume", "Job", "Client", "Process", "Candidate" })
        {
            var list = await http.GetFromJsonAsync<JsonElement>($"/api/hrbc/{resource}/fields", Ct);
            Assert.Contains(list.EnumerateArray(), f => f.GetProperty("alias").GetString()!.EndsWith(".P_Id"));
        }
    }

    [Fact]
    public async Task Phases_list_the_process_phases()
    {
        await using var hrbc = await HrbcHarness.StartAsync();
        await using var api = BulkMailApplication.StartWith(hrbc);
        using var http = api.CreateClient();

        var phases = await http.GetFromJsonAsync<JsonElement>("/api/hrbc/phases", Ct);
        var resumePhases = await http.GetFromJsonAsync<JsonElement>("/api/hrbc/phases?resource=Resume", Ct);

        Assert.Contains(phases.EnumerateArray(), p => p.GetProperty("alias").GetString() == "Option.P_ProcessPhase_JobOffered");
        Assert.All(resumePhases.EnumerateArray(), p => Assert.StartsWith("Option.P_ResumePhase", p.GetProperty("alias").GetString()));
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/api/hrbc/phases?resource=Nope", Ct)).StatusCode);
    }

    [Fact]
    public async Task Unknown_resources_are_a_404_problem()
    {
        await using var hrbc = await HrbcHarness.StartAsync();
        await using var api = BulkMailApplication.StartWith(hrbc);
        using var http = api.CreateClient();

        var response = await http.GetAsync("/api/hrbc/contracts", Ct);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Health_and_the_openapi_document_are_served()
    {
        await using var hrbc = await HrbcHarness.StartAsync();
        await using var api = BulkMailApplication.StartWith(hrbc);
        using var http = api.CreateClient();

        var health = await http.GetFromJsonAsync<JsonElement>("/healthz", Ct);
        var openApi = await http.GetFromJsonAsync<JsonElement>("/openapi/v1.json", Ct);

        Assert.Equal("Healthy", health.GetProperty("status").GetString());
        Assert.True(openApi.GetProperty("paths").TryGetProperty("/api/hrbc/{resource}", out _));
    }

    [Fact]
    public async Task The_demo_configuration_serves_hrbc_from_the_built_in_sandbox()
    {
        await using var api = DemoApplication.Start(new Dictionary<string, string?> { ["Sandbox:Enabled"] = "true" });
        using var http = api.CreateClient();

        var page = await http.GetFromJsonAsync<JsonElement>("/api/hrbc/resumes?count=200&keywords=" + Uri.EscapeDataString("@"), Ct);

        Assert.InRange(page.GetProperty("total").GetInt32(), 1, 1200);
        Assert.Equal(200, page.GetProperty("items").GetArrayLength());
    }

    [Fact]
    public void Without_hrbc_configuration_the_service_refuses_to_start_with_a_clear_message()
    {
        var error = Assert.ThrowsAny<Exception>(() =>
        {
            using var api = BulkMailApplication.Start(new Dictionary<string, string?>());
        });

        Assert.Contains("Hrbc:BaseUrl", error.ToString());
    }
}
