using System.Reflection;
using BulkMail.Api.Infrastructure;
using BulkMail.Api.Mail;
using BulkMail.Api.Mailings;
using BulkMail.Api.Templates;
using BulkMail.Api.Uploads;
using BulkMail.Tests.Mail;
using BulkMail.Tests.Mailings;
using BulkMail.Tests.Support;
using BulkMail.Tests.Templates;
using BulkMail.Tests.Uploads;

namespace BulkMail.Tests.Infrastructure;

/// <summary>
/// Every public method of every store and limiter is named by a <see cref="CoversAttribute"/> of a test in its contract
/// suite (and <see cref="ContractSuite"/> checks at the end of each test that it called what it names). A method added
/// to an interface without a contract test fails here.
/// </summary>
public class ContractCoverageTests
{
    /// <summary>Each store or limiter and the suite that holds it to its contract (run against every implementation).</summary>
    public static readonly IReadOnlyList<(Type Contract, Type Suite)> Suites =
    [
        (typeof(IMailingStore), typeof(MailingStoreContract)),
        (typeof(IMailboxLimiter), typeof(MailboxLimiterContract)),
        (typeof(IUploadStore), typeof(UploadStoreContract)),
        (typeof(ITemplateStore), typeof(TemplateStoreContract)),
        (typeof(BulkMail.Api.Auth.ITokenCacheStore), typeof(BulkMail.Tests.Auth.TokenCacheStoreContract)),
        (typeof(RollingWindowLimiter), typeof(RollingWindowLimiterTests)), // one implementation, in memory (per process)
        (typeof(BulkMail.Api.Suppressions.ISuppressionList), typeof(BulkMail.Tests.Suppressions.SuppressionListContract)),
        (typeof(IDueIndex), typeof(BulkMail.Tests.Mailings.DueIndexContract)),
        (typeof(IMailingChanges), typeof(BulkMail.Tests.Mailings.MailingChangesContract)),
    ];

    /// <summary>The public methods of <paramref name="contract"/> no test of <paramref name="suite"/> names.</summary>
    public static IReadOnlyList<string> Uncovered(Type contract, Type suite)
    {
        var covered = CoveredBy(suite);
        return [.. PublicMethods(contract).Where(m => !covered.Contains(m)).Order()];
    }

    /// <summary>Names in the suite's <see cref="CoversAttribute"/>s that are no method of the contract (renamed or removed).</summary>
    public static IReadOnlyList<string> Stale(Type contract, Type suite) =>
        [.. CoveredBy(suite).Where(m => !PublicMethods(contract).Contains(m)).Order()];

    private static HashSet<string> PublicMethods(Type contract) =>
        [.. (contract.IsInterface ? contract.GetMethods() : contract.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly))
            .Where(m => !m.IsSpecialName)
            .Select(m => m.Name)];

    // Only tests count: a [Covers] on a helper that no runner calls would prove nothing.
    private static HashSet<string> CoveredBy(Type suite) =>
        [.. suite.GetMethods(BindingFlags.Public | BindingFlags.Instance)
            .Where(m => m.GetCustomAttributes<FactAttribute>().Any())
            .SelectMany(m => m.GetCustomAttributes<CoversAttribute>())
            .SelectMany(c => c.Methods)];

    public static TheoryData<string> SuiteNames() => [.. Suites.Select(s => s.Contract.Name)];

    [Theory]
    [MemberData(nameof(SuiteNames))]
    public void Every_public_method_has_a_contract_test(string contract)
    {
        var (type, suite) = Suites.Single(s => s.Contract.Name == contract);
        Assert.True(PublicMethods(type).Count > 0);
        Assert.Empty(Uncovered(type, suite));
        Assert.Empty(Stale(type, suite));
    }

    [Theory]
    [MemberData(nameof(SuiteNames))]
    public void Every_contract_suite_runs_against_each_implementation(string contract)
    {
        var (type, suite) = Suites.Single(s => s.Contract.Name == contract);
        var runs = typeof(ContractCoverageTests).Assembly.GetTypes().Where(t => !t.IsAbstract && t.IsSubclassOf(suite)).Select(t => t.Name).ToList();
        var implementations = Implementations(type);
        // Redis and in memory both, where both exist: RedisXxxTests and InMemoryXxxTests.
        foreach (var kind in new[] { "Redis", "InMemory" }.Where(k => implementations.Any(i => i.StartsWith(k, StringComparison.Ordinal))))
        {
            Assert.Contains(runs, r => r.StartsWith(kind, StringComparison.Ordinal));
        }
        Assert.True(suite.IsAbstract ? runs.Count >= implementations.Count : implementations.Count == 1, $"{suite.Name}: {string.Join(", ", runs)}");
    }

    /// <summary>Every interface of the API with both a Redis and an in-memory implementation has a suite above.</summary>
    [Fact]
    public void Every_store_with_a_redis_and_an_in_memory_implementation_has_a_contract_suite()
    {
        var api = typeof(IMailingStore).Assembly;
        var twinned = api.GetTypes().Where(t => t.IsInterface && t.IsPublic)
            .Where(i => Implementations(i) is var names
                && names.Any(n => n.StartsWith("Redis", StringComparison.Ordinal)) && names.Any(n => n.StartsWith("InMemory", StringComparison.Ordinal)))
            .Select(i => i.Name)
            .ToList();

        Assert.Contains(nameof(IMailingStore), twinned); // the search finds them
        Assert.Empty(twinned.Except(Suites.Select(s => s.Contract.Name)));
    }

    private static List<string> Implementations(Type contract) =>
        contract.IsInterface
            ? [.. contract.Assembly.GetTypes().Where(t => t is { IsClass: true, IsAbstract: false } && t.IsAssignableTo(contract)).Select(t => t.Name)]
            : [contract.Name];

    // ---- the check itself can fail: a contract with a method no test names

    public interface IProbeStore
    {
        Task SaveAsync(CancellationToken cancellationToken);

        Task<int> CountAsync(CancellationToken cancellationToken);
    }

    public abstract class ProbeStoreContract
    {
        [Fact(Skip = "a probe for the coverage check, never run")]
        [Covers(nameof(IProbeStore.SaveAsync), "RemovedAsync")]
        public void Saves() { }

#pragma warning disable xUnit1013 // deliberately public and not a test: the check must not count it
        [Covers(nameof(IProbeStore.CountAsync))]
        public void Helper() { }
#pragma warning restore xUnit1013
    }

    [Fact]
    public void The_check_reports_a_method_without_a_contract_test_and_a_name_that_is_no_method()
    {
        Assert.Equal([nameof(IProbeStore.CountAsync)], Uncovered(typeof(IProbeStore), typeof(ProbeStoreContract)));
        Assert.Equal(["RemovedAsync"], Stale(typeof(IProbeStore), typeof(ProbeStoreContract)));
    }

    [Fact]
    public void A_test_that_names_a_method_it_never_called_is_reported()
    {
        var saves = typeof(ProbeStoreContract).GetMethod(nameof(ProbeStoreContract.Saves))!;
        Assert.Equal(["RemovedAsync"], ContractSuite.Unexercised(saves, new HashSet<string> { nameof(IProbeStore.SaveAsync) }));
        Assert.Equal(["RemovedAsync", "SaveAsync"], ContractSuite.Unexercised(saves, new HashSet<string>()));
    }
}
