using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace CrossMargin.Contracts.Generator;

/// <summary>
/// A small strict JSON reader for contracts-abi files. A generator cannot easily carry System.Text.Json
/// into the compiler, so it parses its input itself. Objects become Dictionary, arrays List, strings
/// string, numbers decimal string (kept verbatim), true/false bool, null null.
/// </summary>
internal static class MiniJson
{
    public sealed class JsonException : Exception
    {
        public JsonException(string message) : base(message) { }
    }

    /// <summary>A JSON number kept as written.</summary>
    public sealed class Number
    {
        public Number(string text) { Text = text; }

        public string Text { get; }

        public override string ToString() => Text;
    }

    public static object? Parse(string text)
    {
        int pos = 0;
        object? value = ReadValue(text, ref pos, 0);
        SkipWhitespace(text, ref pos);
        if (pos != text.Length) throw new JsonException("Trailing characters at " + pos);
        return value;
    }

    private static object? ReadValue(string s, ref int pos, int depth)
    {
        if (depth > 64) throw new JsonException("Nesting too deep");
        SkipWhitespace(s, ref pos);
        if (pos >= s.Length) throw new JsonException("Unexpected end of input");
        char c = s[pos];
        switch (c)
        {
            case '{':
                return ReadObject(s, ref pos, depth);
            case '[':
                return ReadArray(s, ref pos, depth);
            case '"':
                return ReadString(s, ref pos);
            case 't':
                Expect(s, ref pos, "true");
                return true;
            case 'f':
                Expect(s, ref pos, "false");
                return false;
            case 'n':
                Expect(s, ref pos, "null");
                return null;
            default:
                if (c == '-' || (c >= '0' && c <= '9')) return ReadNumber(s, ref pos);
                throw new JsonException("Unexpected character '" + c + "' at " + pos);
        }
    }

    private static Dictionary<string, object?> ReadObject(string s, ref int pos, int depth)
    {
        var result = new Dictionary<string, object?>(StringComparer.Ordinal);
        pos++;
        SkipWhitespace(s, ref pos);
        if (pos < s.Length && s[pos] == '}')
        {
            pos++;
            return result;
        }
        while (true)
        {
            SkipWhitespace(s, ref pos);
            if (pos >= s.Length || s[pos] != '"') throw new JsonException("Expected a property name at " + pos);
            string key = ReadString(s, ref pos);
            SkipWhitespace(s, ref pos);
            if (pos >= s.Length || s[pos] != ':') throw new JsonException("Expected ':' at " + pos);
            pos++;
            result[key] = ReadValue(s, ref pos, depth + 1);
            SkipWhitespace(s, ref pos);
            if (pos >= s.Length) throw new JsonException("Unterminated object");
            if (s[pos] == ',')
            {
                pos++;
                continue;
            }
            if (s[pos] == '}')
            {
                pos++;
                return result;
            }
            throw new JsonException("Expected ',' or '}' at " + pos);
        }
    }

    private static List<object?> ReadArray(string s, ref int pos, int depth)
    {
        var result = new List<object?>();
        pos++;
        SkipWhitespace(s, ref pos);
        if (pos < s.Length && s[pos] == ']')
        {
            pos++;
            return result;
        }
        while (true)
        {
            result.Add(ReadValue(s, ref pos, depth + 1));
            SkipWhitespace(s, ref pos);
            if (pos >= s.Length) throw new JsonException("Unterminated array");
            if (s[pos] == ',')
            {
                pos++;
                continue;
            }
            if (s[pos] == ']')
            {
                pos++;
                return result;
            }
            throw new JsonException("Expected ',' or ']' at " + pos);
        }
    }

    private static string ReadString(string s, ref int pos)
    {
        pos++; // opening quote
        var sb = new StringBuilder();
        while (true)
        {
            if (pos >= s.Length) throw new JsonException("Unterminated string");
            char c = s[pos++];
            if (c == '"') return sb.ToString();
            if (c != '\\')
            {
                sb.Append(c);
                continue;
            }
            if (pos >= s.Length) throw new JsonException("Unterminated escape");
            char e = s[pos++];
            switch (e)
            {
                case '"': sb.Append('"'); break;
                case '\\': sb.Append('\\'); break;
                case '/': sb.Append('/'); break;
                case 'b': sb.Append('\b'); break;
                case 'f': sb.Append('\f'); break;
                case 'n': sb.Append('\n'); break;
                case 'r': sb.Append('\r'); break;
                case 't': sb.Append('\t'); break;
                case 'u':
                    if (pos + 4 > s.Length) throw new JsonException("Bad \\u escape");
                    sb.Append((char)int.Parse(s.Substring(pos, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                    pos += 4;
                    break;
                default:
                    throw new JsonException("Bad escape \\" + e);
            }
        }
    }

    private static Number ReadNumber(string s, ref int pos)
    {
        int start = pos;
        while (pos < s.Length && "+-0123456789.eE".IndexOf(s[pos]) >= 0) pos++;
        return new Number(s.Substring(start, pos - start));
    }

    private static void Expect(string s, ref int pos, string word)
    {
        if (string.CompareOrdinal(s, pos, word, 0, word.Length) != 0) throw new JsonException("Expected " + word + " at " + pos);
        pos += word.Length;
    }

    private static void SkipWhitespace(string s, ref int pos)
    {
        while (pos < s.Length && (s[pos] == ' ' || s[pos] == '\t' || s[pos] == '\n' || s[pos] == '\r')) pos++;
    }
}
