namespace BulkMail.Sandbox;

/// <summary>The <c>Sandbox</c> section: host the HRBC (and later Graph) stand-ins in this process, for the demo.</summary>
public sealed class SandboxOptions
{
    public const string Section = "Sandbox";

    public bool Enabled { get; set; }

    /// <summary>Where the in-process HRBC sandbox is mapped.</summary>
    public string HrbcPath { get; set; } = "/sandbox/hrbc";

    /// <summary>Where the in-process Graph mailbox sandbox is mapped (its Graph root is this + /v1.0).</summary>
    public string GraphPath { get; set; } = "/sandbox/graph";

    // The sandbox tenant's registration, used when Hrbc:* is not configured.
    public const string AppId = "bulkmail-demo";
    public const string Secret = "sandbox-secret";
    public const int Partition = 1234;
}
