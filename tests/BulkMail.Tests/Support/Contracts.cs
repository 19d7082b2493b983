using System.Collections.Concurrent;
using System.Reflection;
using System.Runtime.ExceptionServices;

namespace BulkMail.Tests.Support;

/// <summary>
/// Names the interface methods a contract test exercises. <c>ContractCoverageTests</c> fails when a public method of a
/// store or limiter interface is named by no test of its contract suite; <see cref="ContractSuite"/> fails a test that
/// names a method it never called (the claim is checked, not trusted).
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = true)]
public sealed class CoversAttribute(params string[] methods) : Attribute
{
    public IReadOnlyList<string> Methods { get; } = methods;
}

/// <summary>
/// A contract suite: its tests get their store through <see cref="Track{T}"/>, which records every interface method
/// called; at the end of each test, every method its <see cref="CoversAttribute"/> names must have been called.
/// </summary>
public abstract class ContractSuite : IDisposable
{
    private readonly ConcurrentDictionary<string, bool> _called = new(StringComparer.Ordinal);

    /// <summary>The implementation under test, behind a proxy that records the interface methods called on it.</summary>
    protected T Track<T>(T inner) where T : class
    {
        var proxy = DispatchProxy.Create<T, Recorder<T>>();
        var recorder = (Recorder<T>)(object)proxy;
        recorder.Inner = inner;
        recorder.Called = _called;
        return proxy;
    }

    /// <summary>The covered methods of the current test that it never called.</summary>
    public static IReadOnlyList<string> Unexercised(MethodInfo test, IReadOnlySet<string> called) =>
        [.. test.GetCustomAttributes<CoversAttribute>().SelectMany(c => c.Methods).Distinct().Where(m => !called.Contains(m)).Order()];

    public void Dispose()
    {
        GC.SuppressFinalize(this);
        var name = TestContext.Current.TestMethod?.MethodName;
        var test = name is null ? null : GetType().GetMethod(name, BindingFlags.Public | BindingFlags.Instance);
        if (test is null || TestContext.Current.TestState?.Result == TestResult.Failed)
        {
            return; // a failed test has already said what is wrong
        }
        var missing = Unexercised(test, _called.Keys.ToHashSet(StringComparer.Ordinal));
        Assert.True(missing.Count == 0, $"{test.Name} says it covers {string.Join(", ", missing)} but never called it.");
    }

    public class Recorder<T> : DispatchProxy where T : class
    {
        internal T Inner { get; set; } = null!;
        internal ConcurrentDictionary<string, bool> Called { get; set; } = null!;

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            ArgumentNullException.ThrowIfNull(targetMethod);
            Called[targetMethod.Name] = true;
            try
            {
                return targetMethod.Invoke(Inner, args);
            }
            catch (TargetInvocationException e) when (e.InnerException is { } inner)
            {
                ExceptionDispatchInfo.Throw(inner);
                throw;
            }
        }
    }
}
