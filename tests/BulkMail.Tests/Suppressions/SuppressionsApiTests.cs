using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using BulkMail.Tests.Support;

namespace BulkMail.Tests.Suppressions;

/// <summary>The suppression list over HTTP: add, list in pages, filter, delete, CSV import (all or nothing) and export.
/// Run on Redis and on the in-memory store.</summary>
public abstract class SuppressionsApiTests(RedisServerFixture redis, string store)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private Task<EngineHarness> StartAsync(IDictionary<string, string?>? settings = null) =>
        EngineHarness.StartAsync(redis, settings, worker: false, store: store);

    private static async Task<JsonElement> JsonOf(HttpResponseMessage response, HttpStatusCode expected)
    {
        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.StatusCode == expected, $"{response.StatusCode}: {body}");
        return body.Length == 0 ? default : JsonDocument.Parse(body).RootElement.Clone();
    }

    private static async Task<List<JsonElement>> AllAsync(HttpClient http, string? q = null, int count = 500)
    {
        var items = new List<JsonElement>();
        string? cursor = null;
        do
        {
            var page = await JsonOf(await http.GetAsync($"/api/suppressions?count={count}{(cursor is null ? "" : "&cursor=" + cursor)}{(q is null ? "" : "&q=" + Uri.EscapeDataString(q))}", Ct), HttpStatusCode.OK);
            items.AddRange(page.GetProperty("items").EnumerateArray());
            cursor = page.GetProperty("nextCursor").ValueKind == JsonValueKind.Null ? null : page.GetProperty("nextCursor").GetString();
        }
        while (cursor is not null);
        return items;
    }

    [Fact]
    public async Task Addresses_are_added_normalised_paged_filtered_and_deleted()
    {
        await using var engine = await StartAsync();
        var http = engine.Http;

        var one = await JsonOf(await http.PostAsJsonAsync("/api/suppressions", new { address = "  Taro.Yamada@Example.COM ", reason = "電話で依頼" }, Ct), HttpStatusCode.OK);
        Assert.Equal((1, 0), (one.GetProperty("added").GetInt32(), one.GetProperty("alreadyListed").GetInt32()));
        var many = await JsonOf(await http.PostAsJsonAsync("/api/suppressions",
            new { addresses = Enumerable.Range(0, 20).Select(i => $"user{i:D2}@{(i % 2 == 0 ? "even" : "odd")}.example").Append("TARO.yamada@example.com") }, Ct), HttpStatusCode.OK);
        Assert.Equal((20, 1), (many.GetProperty("added").GetInt32(), many.GetProperty("alreadyListed").GetInt32()));

        var first = await JsonOf(await http.GetAsync("/api/suppressions?count=7", Ct), HttpStatusCode.OK);
        Assert.Equal(21, first.GetProperty("total").GetInt32());
        Assert.Equal(7, first.GetProperty("items").GetArrayLength());
        var all = await AllAsync(http, count: 7);
        Assert.Equal(21, all.Count);
        Assert.Equal(all.Select(i => i.GetProperty("address").GetString()).Order(StringComparer.Ordinal), all.Select(i => i.GetProperty("address").GetString()));
        var taro = all.Single(i => i.GetProperty("address").GetString() == "taro.yamada@example.com");
        Assert.Equal(("Manual", "電話で依頼", "api"), (taro.GetProperty("code").GetString(), taro.GetProperty("reason").GetString(), taro.GetProperty("source").GetString()));

        var odd = await JsonOf(await http.GetAsync("/api/suppressions?q=ODD.example&count=3", Ct), HttpStatusCode.OK);
        Assert.Equal(10, odd.GetProperty("total").GetInt32());
        Assert.Equal(10, (await AllAsync(http, "odd.example", 3)).Count);

        var bad = await JsonOf(await http.GetAsync("/api/suppressions?count=501&cursor=%%%", Ct), HttpStatusCode.BadRequest);
        Assert.Equal("NumberOutOfRange", bad.GetProperty("fieldCodes").GetProperty("count")[0].GetProperty("code").GetString());
        Assert.Equal("SuppressionCursorInvalid", bad.GetProperty("fieldCodes").GetProperty("cursor")[0].GetProperty("code").GetString());

        await JsonOf(await http.DeleteAsync("/api/suppressions/Taro.Yamada@example.com", Ct), HttpStatusCode.NoContent);
        var gone = await JsonOf(await http.DeleteAsync("/api/suppressions/taro.yamada@example.com", Ct), HttpStatusCode.NotFound);
        Assert.Equal("SuppressionNotFound", gone.GetProperty("code").GetString());
        Assert.Equal(20, (await AllAsync(http)).Count);

        var invalid = await JsonOf(await http.PostAsJsonAsync("/api/suppressions", new { addresses = new[] { "ok@example.com", "not an address" } }, Ct), HttpStatusCode.BadRequest);
        Assert.Equal("SuppressionAddressInvalid", invalid.GetProperty("fieldCodes").GetProperty("addresses[1]")[0].GetProperty("code").GetString());
        Assert.DoesNotContain(await AllAsync(http), i => i.GetProperty("address").GetString() == "ok@example.com"); // nothing half-stored
        await JsonOf(await http.PostAsync("/api/suppressions", new StringContent("a@example.com", Encoding.UTF8, "text/plain"), Ct), HttpStatusCode.UnsupportedMediaType);
    }

    [Fact]
    public async Task A_csv_import_with_bad_lines_stores_nothing_and_names_each_line()
    {
        await using var engine = await StartAsync();
        var csv = "address,reason\r\nok1@example.com,x\r\nnot-an-address\r\n\"ok2@example.com\",\"複数行の\r\n理由, カンマ入り\"\r\n@nope.example\r\n";
        var problem = await JsonOf(await engine.Http.PostAsync("/api/suppressions", new StringContent(csv, Encoding.UTF8, "text/csv"), Ct), HttpStatusCode.BadRequest);
        var lines = problem.GetProperty("fieldCodes").GetProperty("body").EnumerateArray().Select(e => (e.GetProperty("code").GetString(), e.GetProperty("args").GetProperty("line").GetString())).ToList();
        Assert.Equal([("SuppressionImportLineInvalid", "3"), ("SuppressionImportLineInvalid", "6")], lines);
        Assert.Empty(await AllAsync(engine.Http));

        var good = "\uFEFFaddress,reason\r\nok1@example.com,x\r\n\"OK2@example.com\",\"複数行の\r\n理由, カンマ入り\"\nok3@example.com\r\n\r\n";
        var added = await JsonOf(await engine.Http.PostAsync("/api/suppressions", new StringContent(good, Encoding.UTF8, "text/csv"), Ct), HttpStatusCode.OK);
        Assert.Equal(3, added.GetProperty("added").GetInt32());
        var all = await AllAsync(engine.Http);
        Assert.Equal(["ok1@example.com", "ok2@example.com", "ok3@example.com"], all.Select(i => i.GetProperty("address").GetString()));
        Assert.Equal("複数行の\r\n理由, カンマ入り", all[1].GetProperty("reason").GetString());
        Assert.All(all, i => Assert.Equal(("Imported", "import"), (i.GetProperty("code").GetString(), i.GetProperty("source").GetString())));
    }

    [Fact]
    public async Task Imports_are_bounded_in_size_and_count()
    {
        await using var engine = await StartAsync(new Dictionary<string, string?> { ["Suppressions:MaxImportCount"] = "5", ["Suppressions:MaxImportBytes"] = "2048" });
        var six = string.Join("\r\n", Enumerable.Range(0, 6).Select(i => $"a{i}@example.com"));
        var many = await JsonOf(await engine.Http.PostAsync("/api/suppressions", new StringContent(six, Encoding.UTF8, "text/csv"), Ct), HttpStatusCode.BadRequest);
        Assert.Equal("SuppressionImportTooMany", many.GetProperty("fieldCodes").GetProperty("body")[0].GetProperty("code").GetString());
        var big = string.Join("\r\n", Enumerable.Range(0, 200).Select(i => $"address{i:D5}@example.com"));
        var large = await JsonOf(await engine.Http.PostAsync("/api/suppressions", new StringContent(big, Encoding.UTF8, "text/csv"), Ct), HttpStatusCode.RequestEntityTooLarge);
        Assert.Equal("SuppressionImportTooLarge", large.GetProperty("code").GetString());
        Assert.Empty(await AllAsync(engine.Http));
    }

    [Fact]
    public async Task The_csv_export_is_excel_safe_and_imports_back_as_it_was()
    {
        List<JsonElement> before;
        byte[] file;
        await using (var engine = await StartAsync())
        {
            await JsonOf(await engine.Http.PostAsJsonAsync("/api/suppressions", new { address = "b@example.com", reason = "=HYPERLINK(\"http://evil.example\")" }, Ct), HttpStatusCode.OK);
            await JsonOf(await engine.Http.PostAsJsonAsync("/api/suppressions", new { address = "a@example.com", reason = "＠来社時に依頼" }, Ct), HttpStatusCode.OK);
            await JsonOf(await engine.Http.PostAsync("/api/suppressions", new StringContent("c@example.com,\"line1\nline2\"", Encoding.UTF8, "text/csv"), Ct), HttpStatusCode.OK);
            before = await AllAsync(engine.Http);
            var response = await engine.Http.GetAsync("/api/suppressions?format=csv", Ct);
            Assert.Equal("text/csv", response.Content.Headers.ContentType?.MediaType);
            file = await response.Content.ReadAsByteArrayAsync(Ct);
        }
        Assert.Equal([0xEF, 0xBB, 0xBF], file[..3]);
        var text = Encoding.UTF8.GetString(file, 3, file.Length - 3);
        Assert.StartsWith("Address,Code,Reason,AddedAt,MailingId,Source\r\n", text, StringComparison.Ordinal);
        Assert.Contains("'=HYPERLINK", text, StringComparison.Ordinal);
        Assert.Contains("'＠来社時に依頼", text, StringComparison.Ordinal);
        Assert.DoesNotContain(",=HYPERLINK", text, StringComparison.Ordinal);

        await using var other = await StartAsync();
        var imported = await JsonOf(await other.Http.PostAsync("/api/suppressions", new ByteArrayContent(file) { Headers = { { "Content-Type", "text/csv; charset=utf-8" } } }, Ct), HttpStatusCode.OK);
        Assert.Equal(3, imported.GetProperty("added").GetInt32());
        var after = await AllAsync(other.Http);
        Assert.Equal(before.Select(i => i.ToString()), after.Select(i => i.ToString()));
    }
}

public sealed class RedisSuppressionsApiTests(RedisServerFixture redis) : SuppressionsApiTests(redis, "redis");

public sealed class InMemorySuppressionsApiTests(RedisServerFixture redis) : SuppressionsApiTests(redis, "memory");
