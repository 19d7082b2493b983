/// <summary>docs/reliability.md: faults injected mid-mailing (placeholder while the scenarios are written).</summary>
static class ReliabilitySuite
{
    public static Task<int> RunAsync(string[] args, CancellationToken cancellationToken) => Task.FromResult(args.Length + (cancellationToken.IsCancellationRequested ? 1 : 0));
}
