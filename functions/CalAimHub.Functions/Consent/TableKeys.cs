using System.Text;

namespace CalAimHub.Functions.Consent;

/// <summary>
/// Table keys from free text (document paths, provider ids): the characters a key may not hold (<c>/ \ # ?</c>, control
/// characters) and <c>%</c> are percent-escaped, so the key is reversible and sorts like the text.
/// </summary>
internal static class TableKeys
{
    public static string Escape(string text)
    {
        var builder = new StringBuilder(text.Length + 8);
        foreach (var c in text)
        {
            if (c is '/' or '\\' or '#' or '?' or '%' || char.IsControl(c))
            {
                builder.Append('%').Append(((int)c).ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            }
            else
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }

    public static string Unescape(string key) => Uri.UnescapeDataString(key);
}
