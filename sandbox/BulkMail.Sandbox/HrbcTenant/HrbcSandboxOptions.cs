namespace BulkMail.Sandbox.Hrbc;

/// <summary>How the HRBC sandbox behaves; the documented ambiguities of the HRBC API are switchable here.</summary>
public sealed class HrbcSandboxOptions
{
    public string AppId { get; set; } = "bulkmail-demo";
    public string Secret { get; set; } = "sandbox-secret";
    public int Partition { get; set; } = 1234;

    /// <summary>Resumes and candidates (1:1) in the sample tenant.</summary>
    public int ResumeCount { get; set; } = 1200;

    public int Seed { get; set; } = 20261127;
    public TimeSpan AccessTokenLifetime { get; set; } = TimeSpan.FromMilliseconds(1_800_000);
    public TimeSpan RefreshTokenLifetime { get; set; } = TimeSpan.FromMilliseconds(7_200_000);
    public TimeSpan CodeLifetime { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Option values inside the option-root element (<c>&lt;Option.P_Area&gt;</c>) or directly under the field.</summary>
    public bool OptionRootWrapper { get; set; } = true;

    /// <summary>Each option leaf carries <c>Option.P_Name</c> (before <c>Option.P_Id</c>) or only <c>Option.P_Id</c>.</summary>
    public bool OptionNames { get; set; } = true;

    /// <summary>Wrapper of candidate references: <c>Candidate</c> or <c>Person</c>.</summary>
    public string CandidateWrapperTag { get; set; } = "Candidate";

    /// <summary><c>Field.P_Alias</c> as <c>Resume.P_Mail</c> or <c>P_Mail</c>.</summary>
    public bool FieldAliasWithPrefix { get; set; } = true;

    /// <summary>The docs type <c>Recruiter.P_MobileMail</c> as Telephone (15); true makes it Mail (10).</summary>
    public bool RecruiterMobileMailIsMail { get; set; }

    /// <summary>HTTP status sent with a non-zero result code (the docs only say "not 200").</summary>
    public int ErrorHttpStatus { get; set; } = 400;

    public int MaintenanceHttpStatus { get; set; } = 503;

    /// <summary>Characters of path + query (and of a write body) before HTTP 400.</summary>
    public int MaxRequestLength { get; set; } = 15_000;

    /// <summary>Over these per rolling minute HRBC cuts the connection.</summary>
    public int ReadsPerMinute { get; set; } = 2000;
    public int WritesPerMinute { get; set; } = 500;
}

/// <summary>Faults a test switches on at run time. Thread-safe.</summary>
public sealed class HrbcSandboxFaults
{
    private readonly Lock _gate = new();
    private int _maintenance, _dropped, _failPhaseWrites, _failActivityWrites, _lostWriteAnswers;
    private TimeSpan _latency;

    /// <summary>The next N resource calls answer result code 9.</summary>
    public int MaintenanceResponses { get { lock (_gate) { return _maintenance; } } set { lock (_gate) { _maintenance = value; } } }

    /// <summary>The next N requests are aborted without an answer.</summary>
    public int DroppedConnections { get { lock (_gate) { return _dropped; } } set { lock (_gate) { _dropped = value; } } }

    public TimeSpan Latency { get { lock (_gate) { return _latency; } } set { lock (_gate) { _latency = value; } } }

    /// <summary>The next N written items that carry a phase get item code 1000.</summary>
    public int FailPhaseWrites { get { lock (_gate) { return _failPhaseWrites; } } set { lock (_gate) { _failPhaseWrites = value; } } }

    /// <summary>The next N written Activity items get item code 1000.</summary>
    public int FailActivityWrites { get { lock (_gate) { return _failActivityWrites; } } set { lock (_gate) { _failActivityWrites = value; } } }

    /// <summary>The next N resource writes (not token requests) are applied, then their connection is cut before the answer (a timeout or a dropped
    /// connection after HRBC committed): the client cannot tell from the answer whether the write happened.</summary>
    public int LostWriteAnswers { get { lock (_gate) { return _lostWriteAnswers; } } set { lock (_gate) { _lostWriteAnswers = value; } } }

    internal Action? OnExpireAccessTokens { get; set; }
    internal Action? OnExpireRefreshTokens { get; set; }
    internal bool GrantRevoked { get; private set; }

    /// <summary>Every access token issued so far now answers 401.</summary>
    public void ExpireAccessTokens() => OnExpireAccessTokens?.Invoke();

    /// <summary>Refresh tokens issued so far now fail with auth error 401.</summary>
    public void ExpireRefreshTokens() => OnExpireRefreshTokens?.Invoke();

    public void RevokeGrant() { lock (_gate) { GrantRevoked = true; } }

    public void RestoreGrant() { lock (_gate) { GrantRevoked = false; } }

    public void Reset()
    {
        lock (_gate)
        {
            _maintenance = _dropped = _failPhaseWrites = _failActivityWrites = _lostWriteAnswers = 0;
            _latency = TimeSpan.Zero;
            GrantRevoked = false;
        }
    }

    internal bool Take(ref int counter)
    {
        lock (_gate)
        {
            if (counter <= 0)
            {
                return false;
            }
            counter--;
            return true;
        }
    }

    internal bool TakeMaintenance() => Take(ref _maintenance);
    internal bool TakeDropped() => Take(ref _dropped);
    internal bool TakeFailPhase() => Take(ref _failPhaseWrites);
    internal bool TakeFailActivity() => Take(ref _failActivityWrites);
    internal bool TakeLostWriteAnswer() => Take(ref _lostWriteAnswers);
}

public sealed record HrbcSandboxRequest(DateTimeOffset At, string Method, string Resource, string PathAndQuery, int ResultCode);

public sealed record HrbcSandboxPhaseEntry(long Id, string PhaseAlias, DateTime DateUtc, string? Memo, bool Recent);
