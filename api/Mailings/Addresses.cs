using System.Net.Mail;
using System.Text.RegularExpressions;

namespace BulkMail.Api.Mailings;

/// <summary>Which values of a mail field can be mailed to. Stricter than <see cref="MailAddress"/>, which accepts
/// display names and spaces that Exchange would reject after the mail was counted.</summary>
public static partial class Addresses
{
    public static string? Normalize(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    public static bool IsValid(string address) =>
        address.Length <= 254
        && Shape().IsMatch(address)
        && MailAddress.TryCreate(address, out var parsed)
        && parsed.Address == address
        && string.IsNullOrEmpty(parsed.DisplayName);

    [GeneratedRegex(@"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")]
    private static partial Regex Shape();
}
