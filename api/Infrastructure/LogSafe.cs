using System.Text;
using System.Text.RegularExpressions;

namespace BulkMail.Api.Infrastructure;

/// <summary>
/// The exception of an unexpected failure, fit for the log: its type, stack trace and inner exceptions as thrown, its
/// messages with mail addresses and bearer tokens masked and cut to a bounded length. Messages are not all ours: an
/// HRBC <c>&lt;Message&gt;</c> or a Graph error text is copied into the exception as the service wrote it, and Graph names
/// the recipient it refused ("Recipient 'x@y' is not valid"); a store or SDK error may quote what it was handed.
/// </summary>
public static partial class LogSafe
{
    private const int MaxMessage = 500;

    /// <summary>What to pass as a LoggerMessage's <see cref="Exception"/> argument.</summary>
    public static Exception Of(Exception e) => e as RedactedException ?? new RedactedException(e);

    /// <summary>A message without addresses and tokens, at most <see cref="MaxMessage"/> characters (a body quoted back
    /// by a service stops there).</summary>
    public static string Scrub(string? message)
    {
        if (string.IsNullOrEmpty(message))
        {
            return "";
        }
        var masked = Jwt().Replace(Address().Replace(message, "[address]"), "[token]");
        return masked.Length <= MaxMessage ? masked : string.Concat(masked.AsSpan(0, MaxMessage), "…");
    }

    // Loose on purpose: masking a non-address costs nothing, logging an address does.
    [GeneratedRegex(@"[^\s<>""'(),;:\[\]]+@[^\s<>""'(),;:\[\]]+")]
    private static partial Regex Address();

    [GeneratedRegex(@"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]*)?")]
    private static partial Regex Jwt();

    /// <summary>Stands in for the thrown exception in the log. <see cref="ToString"/> is what log sinks write: the original
    /// type's full name, the scrubbed message, the inner exceptions and the original stack trace.</summary>
    public sealed class RedactedException : Exception
    {
        private readonly Exception _original;

        internal RedactedException(Exception original)
            : base(Scrub(original.Message), original.InnerException is null ? null : new RedactedException(original.InnerException))
        {
            _original = original;
            HResult = original.HResult;
        }

        /// <summary>The full name of the type that was thrown.</summary>
        public string ThrownType => _original.GetType().FullName ?? _original.GetType().Name;

        public override string? StackTrace => _original.StackTrace;

        public override string ToString()
        {
            var text = new StringBuilder(ThrownType);
            if (Message.Length > 0)
            {
                text.Append(": ").Append(Message);
            }
            if (InnerException is not null)
            {
                text.Append(Environment.NewLine).Append(" ---> ").Append(InnerException)
                    .Append(Environment.NewLine).Append("   --- End of inner exception stack trace ---");
            }
            if (StackTrace is { } trace)
            {
                text.Append(Environment.NewLine).Append(trace);
            }
            return text.ToString();
        }
    }
}
