using System.Globalization;
using System.Text;

namespace BulkMail.Api.Mailings;

/// <summary>What a mailing's completion check does once nothing may be left to do.</summary>
public enum CompletionStep
{
    /// <summary>Something is still to do (or the state does not complete): nothing changes.</summary>
    Wait,

    /// <summary>The mailing becomes Completed, finished now.</summary>
    Complete,

    /// <summary>A cancelled mailing's last delivery has stopped: it is finished now (it stays Cancelled).</summary>
    StampFinished,
}

/// <summary>
/// When a mailing is complete — the one definition. The in-memory store calls <see cref="Decide"/>; the Redis scripts
/// do not restate the rule in Lua but look the answer up in a table generated from <see cref="Decide"/> over every
/// input (<see cref="LuaTables"/>), so the two stores cannot drift apart. The same goes for the final states and
/// <see cref="MailingStates.IsDeletable"/>, which the scripts also need.
/// </summary>
public static class MailingCompletion
{
    /// <param name="expanded">The whole scope has been expanded into deliveries.</param>
    /// <param name="queued">Deliveries are waiting in the queue.</param>
    /// <param name="leased">Deliveries are claimed by a worker (in flight).</param>
    /// <param name="followUpsPending">Sent deliveries wait for their HRBC follow-up.</param>
    /// <param name="state">The mailing's state.</param>
    /// <param name="finished">The mailing has its finishedAt already.</param>
    public static CompletionStep Decide(bool expanded, bool queued, bool leased, bool followUpsPending, MailingState state, bool finished)
    {
        if (!expanded || queued || leased)
        {
            return CompletionStep.Wait;
        }
        // Follow-ups hold a running mailing open; a cancelled one still writes them, but is finished without waiting.
        if (followUpsPending && state != MailingState.Cancelled)
        {
            return CompletionStep.Wait;
        }
        return state switch
        {
            MailingState.Preparing or MailingState.Queued or MailingState.Sending => CompletionStep.Complete,
            MailingState.Cancelled when !finished => CompletionStep.StampFinished,
            _ => CompletionStep.Wait,
        };
    }

    /// <summary>The key of one input combination in the generated Lua table: <c>State:</c> then one digit per flag.</summary>
    public static string Key(bool expanded, bool queued, bool leased, bool followUpsPending, MailingState state, bool finished) =>
        string.Create(CultureInfo.InvariantCulture, $"{state}:{B(expanded)}{B(queued)}{B(leased)}{B(followUpsPending)}{B(finished)}");

    private static char B(bool b) => b ? '1' : '0';

    /// <summary>
    /// Lua tables built from the C# rules: <c>completion</c> (key → 'Complete' | 'StampFinished'; absent: wait),
    /// <c>waitsWhileQueued</c> and <c>waitsWhileLeased</c> (whether that input alone decides Wait), <c>finalState</c> (state → true) and <c>deletable</c> ('State:held finished' digits → true).
    /// </summary>
    public static readonly string LuaTables = BuildLuaTables();

    private static string BuildLuaTables()
    {
        var bools = new[] { false, true };
        var lua = new StringBuilder("local completion = {");
        foreach (var state in Enum.GetValues<MailingState>())
        {
            foreach (var e in bools)
            foreach (var q in bools)
            foreach (var l in bools)
            foreach (var p in bools)
            foreach (var f in bools)
            {
                var step = Decide(e, q, l, p, state, f);
                if (step != CompletionStep.Wait)
                {
                    lua.Append(CultureInfo.InvariantCulture, $" ['{Key(e, q, l, p, state, f)}'] = '{step}',");
                }
            }
        }
        lua.Append(" }\n");
        // The completion check's shortcut (one ZCARD instead of five reads while a mailing is sending): whether a
        // queued, or a leased, delivery alone means wait, whatever the other inputs are — derived here too, not assumed.
        foreach (var (name, flag) in new[] { ("waitsWhileQueued", 1), ("waitsWhileLeased", 2) })
        {
            var always = Enum.GetValues<MailingState>().All(state =>
                bools.All(e => bools.All(x => bools.All(p => bools.All(f =>
                    Decide(e, flag == 1 || x, flag == 2 || x, p, state, f) == CompletionStep.Wait)))));
            lua.Append(CultureInfo.InvariantCulture, $"local {name} = {(always ? "true" : "false")}\n");
        }
        lua.Append("local finalState = {");
        foreach (var state in Enum.GetValues<MailingState>().Where(MailingStates.IsFinal))
        {
            lua.Append(CultureInfo.InvariantCulture, $" {state} = true,");
        }
        lua.Append(" }\nlocal deletable = {");
        foreach (var state in Enum.GetValues<MailingState>())
        foreach (var held in bools)
        foreach (var finished in bools)
        {
            if (MailingStates.IsDeletable(state, held, finished))
            {
                lua.Append(CultureInfo.InvariantCulture, $" ['{state}:{B(held)}{B(finished)}'] = true,");
            }
        }
        lua.Append(" }\n");
        return lua.ToString();
    }
}
