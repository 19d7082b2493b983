using System.Text.RegularExpressions;
using BulkMail.Api.Hrbc;
using BulkMail.Tests.Infrastructure;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace BulkMail.Tests.Hrbc;

/// <summary>One meaning of "transient" for HRBC (HrbcTransience): the exception, the result codes of item writes,
/// the resilience pipeline's look into an answer and the background steps' filters agree, and no other file of the
/// API writes its own list.</summary>
public partial class HrbcTransienceTests
{
    public static TheoryData<int, bool> Codes => new()
    {
        { 8, true }, { 9, true }, { 302, true }, { 1000, true },
        { 0, false }, { 6, false }, { 7, false }, { 103, false }, { 301, false }, { 403, false }, { 500, false },
    };

    [Theory]
    [MemberData(nameof(Codes))]
    public void Every_former_site_classifies_a_result_code_alike(int code, bool transient)
    {
        var body = $"<Resume Total=\"0\"><Code>{code}</Code><Message>m</Message></Resume>";
        // the exception (HrbcErrors), the item codes (FollowUps), the resilience predicate for reads (HrbcSetup)
        Assert.Equal(transient, new HrbcException(code, "m").IsTransient);
        Assert.Equal(transient, HrbcTransience.IsTransient(code));
        Assert.Equal(transient, HrbcTransience.RetriesAnswer(body, atMostOnceWrite: false));
        // an at-most-once write is resent at once only when HRBC did not process it (maintenance)
        Assert.Equal(code == 9, HrbcTransience.RetriesAnswer(body, atMostOnceWrite: true));
        // the background filters (expansion, follow-ups, health, result labels) catch every HRBC failure
        Assert.True(HrbcTransience.IsFailure(new HrbcException(code, "m")));
    }

    [Fact]
    public void A_call_without_an_answer_is_transient_everywhere()
    {
        Exception[] unanswered =
        [
            new BrokenCircuitException("open"),
            new TimeoutRejectedException("slow"),
            new HttpRequestException("refused"),
        ];
        foreach (var e in unanswered)
        {
            Assert.True(HrbcTransience.IsTransient(e), e.GetType().Name);
            Assert.True(HrbcTransience.IsFailure(e), e.GetType().Name);
        }
        Assert.False(HrbcTransience.IsFailure(new InvalidOperationException("a bug")));
        Assert.False(HrbcTransience.IsTransient(new HrbcAuthException(401, "refresh token expired")));
        Assert.False(HrbcTransience.RetriesAnswer("<html>502</html>", atMostOnceWrite: false));
    }

    [Fact]
    public void No_other_file_of_the_api_lists_what_transient_means()
    {
        var api = Path.Combine(ApiTypesTests.RepoRoot(), "api");
        var offenders = new List<string>();
        foreach (var file in Directory.EnumerateFiles(api, "*.cs", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(api, file).Replace('\\', '/');
            if (relative.StartsWith("bin/", StringComparison.Ordinal) || relative.StartsWith("obj/", StringComparison.Ordinal)
                || relative.StartsWith("Sandbox/", StringComparison.Ordinal) || relative == "Hrbc/HrbcTransience.cs")
            {
                continue;
            }
            var text = File.ReadAllText(file);
            // an own list of failure exceptions in a filter, or an own list of codes
            if (Filter().IsMatch(text) || CodeList().IsMatch(text))
            {
                offenders.Add(relative);
            }
        }
        Assert.Empty(offenders);
    }

    [GeneratedRegex(@"when\s*\([^)]*(BrokenCircuitException|TimeoutRejectedException)")]
    private static partial Regex Filter();

    [GeneratedRegex(@"\b8\s*,\s*9\s*,\s*302\b|Code\s*==\s*9\b")]
    private static partial Regex CodeList();
}
