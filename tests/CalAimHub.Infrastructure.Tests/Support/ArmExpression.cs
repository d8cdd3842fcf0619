using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace CalAimHub.Infrastructure.Tests.Support;

/// <summary>
/// A small evaluator for the ARM template expressions Bicep emits (<c>"[format('{0}/{1}', parameters('name'), ...)]"</c>),
/// enough to resolve names, copy loops and app settings in the compiled template without deploying it.
/// Functions that need Azure (<c>reference</c>, <c>uniqueString</c>, <c>listKeys</c>, ...) are rejected by name.
/// </summary>
public sealed class ArmExpression
{
    private static readonly JsonNode? Null = null;
    private readonly string text;
    private int position;

    private ArmExpression(string text) => this.text = text;

    /// <summary>True when a template string is an expression: starts with '[' (but not the '[[' escape) and ends with ']'.</summary>
    public static bool IsExpression(string value) =>
        value.Length >= 2 && value[0] == '[' && value[1] != '[' && value[^1] == ']';

    /// <summary>Evaluates a template string: expressions are evaluated, '[[' escapes are unescaped, other strings are literals.</summary>
    public static JsonNode? EvaluateString(string value, ArmScope scope)
    {
        if (!IsExpression(value))
        {
            return JsonValue.Create(value.StartsWith("[[", StringComparison.Ordinal) ? value[1..] : value);
        }

        var parser = new ArmExpression(value[1..^1]);
        var node = parser.ParseExpression();
        parser.SkipWhitespace();
        if (parser.position != parser.text.Length)
        {
            throw new FormatException($"unexpected '{parser.text[parser.position..]}' at position {parser.position} in {value}");
        }

        return node.Evaluate(scope);
    }

    /// <summary>Evaluates every expression inside a JSON value (objects and arrays recursively, keys included).</summary>
    public static JsonNode? EvaluateDeep(JsonNode? node, ArmScope scope) => node switch
    {
        null => null,
        JsonValue v when v.TryGetValue<string>(out var s) => EvaluateString(s, scope),
        JsonValue v => v.DeepClone(),
        JsonArray a => new JsonArray(a.Select(item => EvaluateDeep(item, scope)).ToArray()),
        JsonObject o => new JsonObject(o.Select(p => KeyValuePair.Create(
            EvaluateString(p.Key, scope)?.GetValue<string>() ?? p.Key, EvaluateDeep(p.Value, scope)))),
        _ => throw new InvalidOperationException($"unexpected JSON node {node.GetType().Name}"),
    };

    private Node ParseExpression()
    {
        SkipWhitespace();
        var node = ParsePrimary();
        while (true)
        {
            SkipWhitespace();
            if (Peek('.'))
            {
                position++;
                node = new Member(node, ReadIdentifier());
            }
            else if (Peek('['))
            {
                position++;
                var index = ParseExpression();
                SkipWhitespace();
                Expect(']');
                node = new Index(node, index);
            }
            else
            {
                return node;
            }
        }
    }

    private Node ParsePrimary()
    {
        if (Peek('\''))
        {
            return new Literal(JsonValue.Create(ReadString()));
        }

        if (position < text.Length && (char.IsDigit(text[position]) || text[position] == '-'))
        {
            var start = position++;
            while (position < text.Length && char.IsDigit(text[position]))
            {
                position++;
            }

            return new Literal(JsonValue.Create(long.Parse(text[start..position], CultureInfo.InvariantCulture)));
        }

        var name = ReadIdentifier();
        SkipWhitespace();
        Expect('(');
        var arguments = new List<Node>();
        SkipWhitespace();
        if (!Peek(')'))
        {
            while (true)
            {
                arguments.Add(ParseExpression());
                SkipWhitespace();
                if (Peek(','))
                {
                    position++;
                    continue;
                }

                break;
            }
        }

        Expect(')');
        return new Call(name, arguments);
    }

    private string ReadString()
    {
        Expect('\'');
        var builder = new StringBuilder();
        while (true)
        {
            if (position >= text.Length)
            {
                throw new FormatException($"unterminated string in [{text}]");
            }

            var c = text[position++];
            if (c == '\'')
            {
                if (Peek('\''))
                {
                    builder.Append('\'');
                    position++;
                    continue;
                }

                return builder.ToString();
            }

            builder.Append(c);
        }
    }

    private string ReadIdentifier()
    {
        var start = position;
        while (position < text.Length && (char.IsLetterOrDigit(text[position]) || text[position] is '_' or '$'))
        {
            position++;
        }

        return start == position
            ? throw new FormatException($"expected an identifier at position {start} in [{text}]")
            : text[start..position];
    }

    private bool Peek(char c) => position < text.Length && text[position] == c;

    private void Expect(char c)
    {
        if (!Peek(c))
        {
            throw new FormatException($"expected '{c}' at position {position} in [{text}]");
        }

        position++;
    }

    private void SkipWhitespace()
    {
        while (position < text.Length && char.IsWhiteSpace(text[position]))
        {
            position++;
        }
    }

    private abstract record Node
    {
        public abstract JsonNode? Evaluate(ArmScope scope);
    }

    private sealed record Literal(JsonNode? Value) : Node
    {
        public override JsonNode? Evaluate(ArmScope scope) => Value?.DeepClone();
    }

    private sealed record Member(Node Target, string Name) : Node
    {
        public override JsonNode? Evaluate(ArmScope scope) => Target.Evaluate(scope) is JsonObject o && o.TryGetPropertyValue(Name, out var value)
            ? value?.DeepClone()
            : throw new InvalidOperationException($"property '{Name}' not found");
    }

    private sealed record Index(Node Target, Node Key) : Node
    {
        public override JsonNode? Evaluate(ArmScope scope)
        {
            var target = Target.Evaluate(scope);
            var key = Key.Evaluate(scope);
            return (target, key) switch
            {
                (JsonArray a, JsonValue i) when AsIndex(i) is int n && n >= 0 && n < a.Count => a[n]?.DeepClone(),
                (JsonObject o, JsonValue s) when s.TryGetValue<string>(out var p) && o.TryGetPropertyValue(p, out var v) => v?.DeepClone(),
                _ => throw new InvalidOperationException($"index {key?.ToJsonString()} not found"),
            };
        }

        private static int? AsIndex(JsonValue value) =>
            value.TryGetValue<int>(out var i) ? i : value.TryGetValue<long>(out var l) ? (int)l : null;
    }

    private sealed record Call(string Name, IReadOnlyList<Node> Arguments) : Node
    {
        public override JsonNode? Evaluate(ArmScope scope)
        {
            switch (Name)
            {
                case "lambda":
                    throw new InvalidOperationException("a lambda can only be an argument of map or filter");
                case "map":
                    return Map(scope);
                case "filter":
                    return Filter(scope);
                case "equals":
                    return JsonValue.Create(JsonNode.DeepEquals(Arg(scope, 0), Arg(scope, 1)));
                case "lambdaVariables":
                    return scope.LambdaVariable(String(scope, 0));
                case "parameters":
                    return scope.Parameter(String(scope, 0));
                case "variables":
                    return scope.Variable(String(scope, 0));
                case "copyIndex":
                    return JsonValue.Create(scope.CopyIndex);
                case "format":
                    return JsonValue.Create(Format(scope));
                case "concat":
                    return Concat(scope);
                case "base64":
                    // ARM encodes the string's UTF-8 bytes.
                    return JsonValue.Create(Convert.ToBase64String(Encoding.UTF8.GetBytes(String(scope, 0))));
                case "createArray":
                    return new JsonArray(Arguments.Select(a => a.Evaluate(scope)).ToArray());
                case "createObject":
                    return CreateObject(scope);
                case "union":
                    return Union(scope);
                case "length":
                    return JsonValue.Create(Arg(scope, 0) switch
                    {
                        JsonArray a => a.Count,
                        JsonObject o => o.Count,
                        JsonValue v when v.TryGetValue<string>(out var s) => s.Length,
                        var other => throw new InvalidOperationException($"length of {other?.ToJsonString() ?? "null"}"),
                    });
                case "flatten":
                    return new JsonArray(((JsonArray)Arg(scope, 0)!).SelectMany(inner => ((JsonArray)inner!).Select(x => x?.DeepClone())).ToArray());
                case "coalesce":
                    return Arguments.Select(a => a.Evaluate(scope)).FirstOrDefault(v => v is not null);
                case "tryGet":
                    return Arg(scope, 0) is JsonObject obj && obj.TryGetPropertyValue(String(scope, 1), out var got) ? got?.DeepClone() : Null;
                case "empty":
                    return JsonValue.Create(Arg(scope, 0) switch
                    {
                        null => true,
                        JsonArray a => a.Count == 0,
                        JsonObject o => o.Count == 0,
                        JsonValue v => v.GetValue<string>().Length == 0,
                        _ => false,
                    });
                case "not":
                    return JsonValue.Create(!Arg(scope, 0)!.GetValue<bool>());
                case "if":
                    // Only the branch taken is evaluated, as in ARM.
                    return Arg(scope, 0)!.GetValue<bool>() ? Arg(scope, 1) : Arg(scope, 2);
                case "true":
                    return JsonValue.Create(true);
                case "false":
                    return JsonValue.Create(false);
                case "null":
                    return Null;
                case "resourceId":
                    return JsonValue.Create(ResourceId(scope, $"/subscriptions/{ArmScope.SubscriptionId}/resourceGroups/{ArmScope.ResourceGroup}"));
                case "subscriptionResourceId":
                    return JsonValue.Create(ResourceId(scope, $"/subscriptions/{ArmScope.SubscriptionId}"));
                default:
                    throw new NotSupportedException($"unsupported ARM function '{Name}'");
            }
        }

        private JsonNode? Arg(ArmScope scope, int i) => Arguments[i].Evaluate(scope);

        private string String(ArmScope scope, int i) => Arg(scope, i)?.GetValue<string>()
            ?? throw new InvalidOperationException($"argument {i} of {Name} is null");

        private string Format(ArmScope scope)
        {
            var pattern = String(scope, 0);
            var values = Arguments.Skip(1).Select(a => Stringify(a.Evaluate(scope))).ToArray();
            var builder = new StringBuilder();
            for (var i = 0; i < pattern.Length; i++)
            {
                if (pattern[i] == '{' && i + 1 < pattern.Length && pattern[i + 1] == '{')
                {
                    builder.Append('{');
                    i++;
                }
                else if (pattern[i] == '}' && i + 1 < pattern.Length && pattern[i + 1] == '}')
                {
                    builder.Append('}');
                    i++;
                }
                else if (pattern[i] == '{')
                {
                    var end = pattern.IndexOf('}', i);
                    builder.Append(values[int.Parse(pattern[(i + 1)..end], CultureInfo.InvariantCulture)]);
                    i = end;
                }
                else
                {
                    builder.Append(pattern[i]);
                }
            }

            return builder.ToString();
        }

        private static string Stringify(JsonNode? node) => node switch
        {
            null => string.Empty,
            JsonValue v when v.TryGetValue<string>(out var s) => s,
            JsonValue v when v.TryGetValue<bool>(out var b) => b ? "True" : "False",
            _ => node.ToJsonString(),
        };

        private JsonNode Concat(ArmScope scope)
        {
            var values = Arguments.Select(a => a.Evaluate(scope)).ToArray();
            return values.All(v => v is JsonArray)
                ? new JsonArray(values.SelectMany(v => ((JsonArray)v!).Select(x => x?.DeepClone())).ToArray())
                : JsonValue.Create(string.Concat(values.Select(Stringify)));
        }

        private JsonObject CreateObject(ArmScope scope)
        {
            var result = new JsonObject();
            for (var i = 0; i < Arguments.Count; i += 2)
            {
                result[String(scope, i)] = Arg(scope, i + 1);
            }

            return result;
        }

        private JsonObject Union(ArmScope scope)
        {
            var result = new JsonObject();
            foreach (var argument in Arguments)
            {
                foreach (var (key, value) in (JsonObject)argument.Evaluate(scope)!)
                {
                    result[key] = value?.DeepClone();
                }
            }

            return result;
        }

        private JsonArray Filter(ArmScope scope)
        {
            var source = Arg(scope, 0) as JsonArray ?? throw new InvalidOperationException("filter needs an array");
            var kept = Map(scope);
            return new JsonArray(source.Where((_, i) => kept[i]!.GetValue<bool>()).Select(x => x?.DeepClone()).ToArray());
        }

        private JsonArray Map(ArmScope scope)
        {
            var source = Arg(scope, 0) as JsonArray ?? throw new InvalidOperationException($"{Name} needs an array");
            if (Arguments[1] is not Call { Name: "lambda" } lambda)
            {
                throw new InvalidOperationException($"{Name} needs a lambda");
            }

            var names = lambda.Arguments.Take(lambda.Arguments.Count - 1).Select(a => a.Evaluate(scope)!.GetValue<string>()).ToArray();
            var body = lambda.Arguments[^1];
            var result = new JsonArray();
            for (var i = 0; i < source.Count; i++)
            {
                var bound = new Dictionary<string, JsonNode?> { [names[0]] = source[i]?.DeepClone() };
                if (names.Length > 1)
                {
                    bound[names[1]] = JsonValue.Create(i);
                }

                result.Add(body.Evaluate(scope.WithLambdaVariables(bound)));
            }

            return result;
        }

        private string ResourceId(ArmScope scope, string prefix)
        {
            var type = String(scope, 0).Split('/');
            var names = Enumerable.Range(1, Arguments.Count - 1).Select(i => String(scope, i)).ToArray();
            if (type.Length - 1 != names.Length)
            {
                throw new InvalidOperationException($"resource type {string.Join('/', type)} needs {type.Length - 1} names, got {names.Length}");
            }

            var path = new StringBuilder($"{prefix}/providers/{type[0]}");
            for (var i = 0; i < names.Length; i++)
            {
                path.Append('/').Append(type[i + 1]).Append('/').Append(names[i]);
            }

            return path.ToString();
        }
    }
}
