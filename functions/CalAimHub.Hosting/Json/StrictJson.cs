using System.Text;
using System.Text.Json;

namespace CalAimHub.Hosting.Json;

/// <summary>
/// The one JSON strictness of the hub, applied to every JSON body before a handler sees it: well-formed JSON (no
/// comments, no trailing commas), valid UTF-8, no lone surrogate escapes (<c>"\ud800"</c>, which no storage or UTF-8
/// writer can carry), no NUL characters, no duplicate property names (parsers disagree on which one wins, so a
/// signature or a check could see a different value than the code that acts on it), nesting at most
/// <see cref="MaxDepth"/>. A refusal names the JSON path and position only, never the offending text: bodies carry
/// member data.
/// </summary>
public static class StrictJson
{
    public const int MaxDepth = 64;

    private static readonly JsonReaderOptions Options = new()
    {
        MaxDepth = MaxDepth,
        CommentHandling = JsonCommentHandling.Disallow,
        AllowTrailingCommas = false,
    };

    /// <summary>Null when <paramref name="utf8"/> is acceptable; otherwise the first thing wrong with it.</summary>
    public static StrictJsonError? Check(ReadOnlySpan<byte> utf8)
    {
        if (utf8.StartsWith(Encoding.UTF8.Preamble))
        {
            utf8 = utf8[Encoding.UTF8.Preamble.Length..];
        }

        var reader = new Utf8JsonReader(utf8, Options);
        var path = new JsonPathTracker();
        try
        {
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject:
                        path.EnterValue();
                        path.PushObject();
                        break;
                    case JsonTokenType.StartArray:
                        path.EnterValue();
                        path.PushArray();
                        break;
                    case JsonTokenType.EndObject:
                    case JsonTokenType.EndArray:
                        path.Pop();
                        break;
                    case JsonTokenType.PropertyName:
                        if (!TryGetText(ref reader, out var name, out var nameProblem))
                        {
                            return Error(path.Container, reader, $"has a property name that {nameProblem}");
                        }

                        if (!path.AddProperty(name))
                        {
                            return Error(path.Child(name), reader, "appears twice in the same object; send each property once");
                        }

                        break;
                    case JsonTokenType.String:
                        path.EnterValue();
                        if (!TryGetText(ref reader, out _, out var textProblem))
                        {
                            return Error(path.Current, reader, textProblem);
                        }

                        break;
                    default:
                        path.EnterValue();
                        break;
                }
            }
        }
        catch (JsonException e)
        {
            var depthExceeded = reader.CurrentDepth >= MaxDepth - 1 && e.Message.Contains("depth", StringComparison.OrdinalIgnoreCase);
            return new StrictJsonError(path.Current, e.LineNumber is { } line ? line + 1 : 1, e.BytePositionInLine is { } b ? b + 1 : 1,
                depthExceeded ? $"is nested deeper than {MaxDepth} levels" : "is not valid JSON");
        }

        return null;
    }

    private static StrictJsonError Error(string path, Utf8JsonReader reader, string problem)
    {
        // The reader reports its position as a byte offset in the whole document; line numbers are not kept by the
        // reader, so count them for the message (bodies are small; this runs only on a refusal).
        return new StrictJsonError(path, 0, reader.TokenStartIndex + 1, problem);
    }

    private static bool TryGetText(ref Utf8JsonReader reader, out string text, out string problem)
    {
        try
        {
            text = reader.GetString()!;
        }
        catch (InvalidOperationException)
        {
            text = "";
            problem = "is not valid text: invalid UTF-8 bytes or an unpaired surrogate escape (\\uD800-\\uDFFF); send UTF-8 text";
            return false;
        }

        if (text.Contains('\0', StringComparison.Ordinal))
        {
            problem = "contains a NUL character (\\u0000); remove it";
            return false;
        }

        problem = "";
        return true;
    }

    /// <summary>The JSON path of the token being read (<c>$.member.cin</c>, <c>$.lines[3]</c>) and the property names seen per object.</summary>
    private sealed class JsonPathTracker
    {
        private readonly List<Frame> _frames = [];

        public string Current => Render(_frames.Count == 0 ? "" : Position(_frames[^1]));

        public string Child(string name) => Render(Property(name));

        public string Container => Render("");

        public void PushObject() => _frames.Add(new Frame(_frames.Count == 0 ? "" : Position(_frames[^1]), new HashSet<string>(StringComparer.Ordinal)));

        public void PushArray() => _frames.Add(new Frame(_frames.Count == 0 ? "" : Position(_frames[^1]), null));

        public void Pop()
        {
            if (_frames.Count > 0)
            {
                _frames.RemoveAt(_frames.Count - 1);
            }
        }

        public bool AddProperty(string name)
        {
            if (_frames.Count == 0 || _frames[^1].Names is not { } names)
            {
                return true;
            }

            _frames[^1].Property = name;
            return names.Add(name);
        }

        /// <summary>A value starts: in an array it takes the next index.</summary>
        public void EnterValue()
        {
            if (_frames.Count > 0 && _frames[^1].Names is null)
            {
                _frames[^1].Index++;
            }
        }

        private string Render(string last)
        {
            var text = new StringBuilder("$");
            foreach (var frame in _frames)
            {
                text.Append(frame.Segment);
            }

            return text.Append(last).ToString();
        }

        private static string Position(Frame frame) =>
            frame.Names is null ? (frame.Index >= 0 ? $"[{frame.Index}]" : "") : frame.Property is { } p ? Property(p) : "";

        /// <summary>A property name in a path; a name that is not a plain identifier (or is long) is not echoed: it may be member data.</summary>
        private static string Property(string name) =>
            name.Length is > 0 and <= 64 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-') ? "." + name : "['…']";

        private sealed class Frame(string segment, HashSet<string>? names)
        {
            public string Segment { get; } = segment;

            public HashSet<string>? Names { get; } = names;

            public string? Property { get; set; }

            public int Index { get; set; } = -1;
        }
    }
}

/// <param name="Path">JSON path of the offending token (<c>$</c> for the document).</param>
/// <param name="Line">1-based line when the parser knows it, else 0.</param>
/// <param name="Byte">1-based byte position (in the line when <paramref name="Line"/> is known, else in the document).</param>
/// <param name="Problem">What is wrong, phrased to follow the path: "'$.name' is not valid JSON".</param>
public sealed record StrictJsonError(string Path, long Line, long Byte, string Problem)
{
    public string Message => Line > 0 ? $"'{Path}' {Problem} (line {Line}, byte {Byte})" : $"'{Path}' {Problem} (byte {Byte})";
}
