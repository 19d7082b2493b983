namespace BulkMail.Api.Infrastructure;

/// <summary>
/// Where the demo's stand-ins may run (header-trusted users, <c>Graph:Auth=None</c>, the sandboxes, the in-memory
/// store): only the environment named Development, however it is spelled ("development", " Development "). Anything
/// else — Production, "Production " with a stray space, Staging, a typo — is treated as production: the guards are
/// deny-by-default rather than matching one spelling of "Production".
/// </summary>
public static class DemoEnvironment
{
    public static bool AllowsDemo(this IHostEnvironment environment) =>
        string.Equals(environment.EnvironmentName?.Trim(), Environments.Development, StringComparison.OrdinalIgnoreCase);

    /// <summary>The refusal's wording: which environment it is and what would allow the setting.</summary>
    public static string Refusal(this IHostEnvironment environment, string setting) =>
        $"{setting} is for the demo and tests; it is refused outside the Development environment (this is '{environment.EnvironmentName}').";
}
