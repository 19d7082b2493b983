using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using BulkMail.Api.Infrastructure;
using BulkMail.Tests.Support;

namespace BulkMail.Tests.Infrastructure;

/// <summary>
/// The task pane's API types and code table come from the API: addin/src/api/openapi.json is the OpenAPI document the
/// API serves, addin/src/i18n/codes.json is ServerText's table, addin/src/model/modes.json the mode table (GET /api/modes).
/// All are committed; this test fails when one is
/// stale (the pane's Vitest then checks that schema.d.ts is what openapi-typescript makes of openapi.json).
/// <c>bash scripts/api-types.sh</c> rewrites all three.
/// </summary>
public class ApiTypesTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private const string Fix = "run `bash scripts/api-types.sh` and commit the result";

    private static readonly JsonSerializerOptions Pretty = new()
    {
        WriteIndented = true,
        IndentSize = 2,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, // Japanese stays readable in the file
    };

    private static bool Updating => Environment.GetEnvironmentVariable("BULKMAIL_UPDATE_API_TYPES") == "1";

    public static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "BulkMail.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("BulkMail.sln not found above " + AppContext.BaseDirectory);
    }

    [Fact]
    public async Task The_committed_openapi_document_is_what_the_api_serves()
    {
        await using var hrbc = await HrbcHarness.StartAsync();
        await using var api = BulkMailApplication.StartWith(hrbc);
        using var http = api.CreateClient();
        var served = JsonNode.Parse(await http.GetStringAsync("/openapi/v1.json", Ct))!;
        var schemas = served["components"]!["schemas"]!;
        // the code unions the pane's table is keyed by
        Assert.Contains("SignInRefused", schemas["PausedCode"]!["enum"]!.AsArray().Select(v => v!.GetValue<string>()));
        Assert.Contains("InvalidAddress", schemas["ReasonCode"]!["enum"]!.AsArray().Select(v => v!.GetValue<string>()));
        Compare(Path.Combine("addin", "src", "api", "openapi.json"), served.ToJsonString(Pretty) + "\n");
    }

    [Fact]
    public async Task The_committed_mode_table_of_the_pane_is_what_the_api_serves()
    {
        await using var hrbc = await HrbcHarness.StartAsync();
        await using var api = BulkMailApplication.StartWith(hrbc);
        using var http = api.CreateClient();
        var served = JsonNode.Parse(await http.GetStringAsync("/api/modes", Ct))!;
        Assert.Equal(Enum.GetNames<BulkMail.Api.Modes.MailingMode>(), served.AsArray().Select(m => m!["mode"]!.GetValue<string>()));
        Compare(Path.Combine("addin", "src", "model", "modes.json"), served.ToJsonString(Pretty) + "\n");
    }

    [Fact]
    public void The_committed_code_table_of_the_pane_is_the_servers()
    {
        Compare(Path.Combine("addin", "src", "i18n", "codes.json"), CodeTable().ToJsonString(Pretty) + "\n");
    }

    /// <summary>ServerText as JSON: code set → code → {en, ja}; problem titles; Japanese argument words.</summary>
    public static JsonObject CodeTable()
    {
        var table = new JsonObject();
        foreach (var type in ServerText.CodeTypes)
        {
            var set = new JsonObject();
            foreach (Enum code in Enum.GetValues(type))
            {
                var text = ServerText.Find(code)!;
                set[code.ToString()] = new JsonObject { ["en"] = text.En, ["ja"] = text.Ja };
            }
            table[type.Name] = set;
        }
        table["TemplateErrorCodeWithSuggestion"] = new JsonObject(ServerText.SuggestionEntries.OrderBy(t => t.Key.ToString())
            .Select(t => KeyValuePair.Create(t.Key.ToString(), (JsonNode?)new JsonObject { ["en"] = t.Value.En, ["ja"] = t.Value.Ja })));
        table["ProblemCodeByArgument"] = new JsonObject(ServerText.ArgumentEntries.OrderBy(t => t.Key.ToString())
            .Select(t => KeyValuePair.Create(t.Key.ToString(), (JsonNode?)new JsonObject
            {
                ["arg"] = t.Value.Arg,
                ["texts"] = new JsonObject(t.Value.Texts.OrderBy(x => x.Key, StringComparer.Ordinal)
                    .Select(x => KeyValuePair.Create(x.Key, (JsonNode?)new JsonObject { ["en"] = x.Value.En, ["ja"] = x.Value.Ja }))),
            })));
        table["ProblemTitle"] = new JsonObject(ServerText.ProblemTitles.OrderBy(t => t.Key)
            .Select(t => KeyValuePair.Create(t.Key.ToString(), (JsonNode?)new JsonObject { ["en"] = t.Value.En, ["ja"] = t.Value.Ja })));
        table["ArgWords"] = new JsonObject(ServerText.ArgumentWords.Select(w => KeyValuePair.Create(w.Key,
            (JsonNode?)new JsonObject(w.Value.Select(v => KeyValuePair.Create(v.Key, (JsonNode?)JsonValue.Create(v.Value)))))));
        return table;
    }

    private static void Compare(string relative, string expected)
    {
        var path = Path.Combine(RepoRoot(), relative);
        if (Updating)
        {
            File.WriteAllText(path, expected, new System.Text.UTF8Encoding(false));
            return;
        }
        Assert.True(File.Exists(path), $"{relative} is missing: {Fix}.");
        var committed = File.ReadAllText(path).ReplaceLineEndings("\n");
        Assert.True(committed == expected, $"{relative} is stale (the API changed): {Fix}.");
    }
}
