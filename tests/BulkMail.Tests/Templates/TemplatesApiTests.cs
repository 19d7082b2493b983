using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using BulkMail.Tests.Support;

namespace BulkMail.Tests.Templates;

/// <summary>Saved templates per user through /api/templates, stored in Redis.</summary>
public class TemplatesApiTests(RedisServerFixture redis)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_user_saves_lists_updates_uses_and_deletes_templates_and_sees_only_their_own()
    {
        await using var e = await EngineHarness.StartAsync(redis, worker: false);

        var created = await e.Http.PostAsJsonAsync("/api/templates", new
        {
            name = "11月メルマガ", mode = "Resumes", subject = "{{Person.P_Name}}様 11月のお知らせ", body = "<p>{{Person.P_Name}}様</p>",
        }, Ct);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var template = await created.Content.ReadFromJsonAsync<JsonElement>(Ct);
        var id = template.GetProperty("id").GetString()!;

        var updated = await e.Http.PutAsJsonAsync($"/api/templates/{id}", new
        {
            name = "11月メルマガ v2", mode = "Resumes", subject = "{{Person.P_Name}}様へ", body = "<p>{{Person.P_Name}}様 v2</p>",
        }, Ct);
        var list = await e.Http.GetFromJsonAsync<JsonElement>("/api/templates?mode=Resumes", Ct);
        var badTag = await e.Http.PostAsJsonAsync("/api/templates", new { name = "x", subject = "s", body = "{{Nope.P_X}}" }, Ct);
        using var other = new HttpRequestMessage(HttpMethod.Get, $"/api/templates/{id}");
        other.Headers.Add("X-BulkMail-User", "someone.else@bulkmail.example");
        var preview = await e.Http.PostAsJsonAsync("/api/mailings/preview", new
        {
            mode = "Resumes", scope = new { kind = "Checked", ids = new[] { 10001 } }, mailFields = new[] { "Resume.P_Mail" }, templateId = id,
        }, Ct);

        Assert.Equal(HttpStatusCode.OK, updated.StatusCode);
        Assert.Equal("11月メルマガ v2", Assert.Single(list.EnumerateArray()).GetProperty("name").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, badTag.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await e.Http.SendAsync(other, Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, preview.StatusCode);
        Assert.Contains("様 v2</p>", (await preview.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("samples")[0].GetProperty("htmlBody").GetString());
        Assert.Equal(HttpStatusCode.NoContent, (await e.Http.DeleteAsync($"/api/templates/{id}", Ct)).StatusCode);
        Assert.Equal(0, (await e.Http.GetFromJsonAsync<JsonElement>("/api/templates", Ct)).GetArrayLength());
    }
}
