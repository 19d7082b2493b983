using System.ComponentModel.DataAnnotations;

namespace BulkMail.Api.Hrbc;

/// <summary>The <c>Hrbc</c> configuration section: how to reach and pace one HRBC tenant.</summary>
public sealed class HrbcOptions
{
    public const string Section = "Hrbc";

    /// <summary>API root, e.g. <c>https://api-hrbc-jp.porterscloud.com/</c>.</summary>
    public Uri? BaseUrl { get; set; }

    /// <summary>Not configuration: set by a host that serves a stand-in tenant itself (the demo's HRBC sandbox), as a
    /// path on this server's own address; used when <see cref="BaseUrl"/> is not set.</summary>
    public string? SelfHostedPath { get; set; }

    public string? AppId { get; set; }

    public string? Secret { get; set; }

    [Range(1, int.MaxValue)]
    public int Partition { get; set; }

    /// <summary>Client-side pacing; HRBC allows 2,000 reads and 500 writes a minute and cuts the connection beyond.
    /// The defaults keep a margin for clock skew and for other apps on the same contract.</summary>
    [Range(1, 2000)]
    public int ReadsPerMinute { get; set; } = 1900;

    [Range(1, 500)]
    public int WritesPerMinute { get; set; } = 475;

    /// <summary>HRBC rejects requests over about 15,000 characters; id lists are split to stay under this.</summary>
    [Range(500, 32_000)]
    public int MaxRequestLength { get; set; } = 15_000;

    /// <summary>Retries of code 9 (maintenance), 5xx and dropped connections.</summary>
    [Range(0, 10)]
    public int MaxRetries { get; set; } = 4;

    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long field and option metadata is cached.</summary>
    public TimeSpan MetadataCacheDuration { get; set; } = TimeSpan.FromMinutes(10);
}
