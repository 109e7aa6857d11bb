// The JSON of C# functions: a parser to plain objects (Dictionary<string,
// object>, List<object>, string, long, double, bool, null), a converter from
// those to a handler's parameter type (POCOs by public properties and fields,
// names matched case-insensitively; lists, arrays, dictionaries, enums,
// nullables, DateTime, Guid), and a serializer back. Mono's own
// (System.Web.Extensions) costs a cold start the loading of System.Web, and
// its rules are not System.Text.Json's; this is small and does what a
// Lambda .NET user expects of DefaultLambdaJsonSerializer.
using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.Reflection;
using System.Text;

namespace Impuls.Json
{
    public class JsonException : Exception
    {
        public JsonException(string message) : base(message) { }
    }

    public static class JsonCodec
    {
        const int MaxDepth = 128;

        // ---------- parsing ----------

        public static object Parse(string text)
        {
            int i = 0;
            var value = ParseValue(text, ref i, 0);
            SkipSpace(text, ref i);
            if (i != text.Length)
                throw new JsonException("unexpected '" + text[i] + "' at offset " + i);
            return value;
        }

        static void SkipSpace(string s, ref int i)
        {
            while (i < s.Length && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
                i++;
        }

        static object ParseValue(string s, ref int i, int depth)
        {
            if (depth > MaxDepth)
                throw new JsonException("nested deeper than " + MaxDepth);
            SkipSpace(s, ref i);
            if (i >= s.Length)
                throw new JsonException("unexpected end of input");
            char c = s[i];
            if (c == '{') {
                var obj = new Dictionary<string, object>();
                i++;
                SkipSpace(s, ref i);
                if (i < s.Length && s[i] == '}') { i++; return obj; }
                while (true) {
                    SkipSpace(s, ref i);
                    if (i >= s.Length || s[i] != '"')
                        throw new JsonException("expected a name at offset " + i);
                    string key = ParseString(s, ref i);
                    SkipSpace(s, ref i);
                    Expect(s, ref i, ':');
                    obj[key] = ParseValue(s, ref i, depth + 1);
                    SkipSpace(s, ref i);
                    if (i < s.Length && s[i] == ',') { i++; continue; }
                    Expect(s, ref i, '}');
                    return obj;
                }
            }
            if (c == '[') {
                var list = new List<object>();
                i++;
                SkipSpace(s, ref i);
                if (i < s.Length && s[i] == ']') { i++; return list; }
                while (true) {
                    list.Add(ParseValue(s, ref i, depth + 1));
                    SkipSpace(s, ref i);
                    if (i < s.Length && s[i] == ',') { i++; continue; }
                    Expect(s, ref i, ']');
                    return list;
                }
            }
            if (c == '"')
                return ParseString(s, ref i);
            if (Word(s, ref i, "true")) return true;
            if (Word(s, ref i, "false")) return false;
            if (Word(s, ref i, "null")) return null;
            return ParseNumber(s, ref i);
        }

        static void Expect(string s, ref int i, char c)
        {
            if (i >= s.Length || s[i] != c)
                throw new JsonException("expected '" + c + "' at offset " + i);
            i++;
        }

        static bool Word(string s, ref int i, string w)
        {
            if (string.CompareOrdinal(s, i, w, 0, w.Length) != 0)
                return false;
            i += w.Length;
            return true;
        }

        // JSON's number grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
        static object ParseNumber(string s, ref int i)
        {
            int start = i;
            if (i < s.Length && s[i] == '-') i++;
            if (i < s.Length && s[i] == '0') i++;
            else if (!Digits(s, ref i)) throw new JsonException("invalid value at offset " + start);
            bool integral = true;
            if (i < s.Length && s[i] == '.') {
                i++;
                integral = false;
                if (!Digits(s, ref i)) throw new JsonException("invalid number at offset " + start);
            }
            if (i < s.Length && (s[i] == 'e' || s[i] == 'E')) {
                i++;
                integral = false;
                if (i < s.Length && (s[i] == '+' || s[i] == '-')) i++;
                if (!Digits(s, ref i)) throw new JsonException("invalid number at offset " + start);
            }
            string text = s.Substring(start, i - start);
            long l;
            if (integral && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out l))
                return l;
            double d;
            if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out d) || double.IsInfinity(d))
                throw new JsonException("number out of range at offset " + start);
            return d;
        }

        static bool Digits(string s, ref int i)
        {
            int start = i;
            while (i < s.Length && s[i] >= '0' && s[i] <= '9') i++;
            return i > start;
        }

        static int HexDigit(char c)
        {
            return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        }

        static string ParseString(string s, ref int i)
        {
            i++; // the opening quote
            var sb = new StringBuilder();
            while (true) {
                if (i >= s.Length)
                    throw new JsonException("unterminated string");
                char c = s[i++];
                if (c == '"')
                    return sb.ToString();
                if (c != '\\') { sb.Append(c); continue; }
                if (i >= s.Length)
                    throw new JsonException("unterminated string");
                char e = s[i++];
                switch (e) {
                case '"': sb.Append('"'); break;
                case '\\': sb.Append('\\'); break;
                case '/': sb.Append('/'); break;
                case 'b': sb.Append('\b'); break;
                case 'f': sb.Append('\f'); break;
                case 'n': sb.Append('\n'); break;
                case 'r': sb.Append('\r'); break;
                case 't': sb.Append('\t'); break;
                case 'u':
                    int code = 0;
                    for (int k = 0; k < 4; k++, i++) {
                        int digit = i < s.Length ? HexDigit(s[i]) : -1;
                        if (digit < 0)
                            throw new JsonException("bad \\u escape at offset " + i);
                        code = code * 16 + digit;
                    }
                    sb.Append((char)code);
                    break;
                default:
                    throw new JsonException("bad escape \\" + e);
                }
            }
        }

        // ---------- parsed value -> a CLR type ----------

        public static object Convert(object v, Type t)
        {
            if (t == typeof(object))
                return v;
            var under = Nullable.GetUnderlyingType(t);
            if (v == null) {
                if (t.IsValueType && under == null)
                    throw new JsonException("null cannot be a " + t.Name);
                return null;
            }
            if (under != null)
                t = under;
            if (t == typeof(string)) {
                if (v is string) return v;
                throw new JsonException("a JSON " + Kind(v) + " cannot be a String");
            }
            if (t.IsEnum) {
                if (v is string) return Enum.Parse(t, (string)v, true);
                return Enum.ToObject(t, System.Convert.ToInt64(v, CultureInfo.InvariantCulture));
            }
            if (t == typeof(DateTime)) return DateTime.Parse(Need<string>(v, t), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind);
            if (t == typeof(DateTimeOffset)) return DateTimeOffset.Parse(Need<string>(v, t), CultureInfo.InvariantCulture);
            if (t == typeof(Guid)) return new Guid(Need<string>(v, t));
            if (t == typeof(bool)) return Need<bool>(v, t);
            if (t.IsPrimitive || t == typeof(decimal)) {
                if (!(v is long || v is double))
                    throw new JsonException("a JSON " + Kind(v) + " cannot be a " + t.Name);
                return System.Convert.ChangeType(v, t, CultureInfo.InvariantCulture);
            }
            if (t.IsArray) {
                var items = Need<List<object>>(v, t);
                var arr = Array.CreateInstance(t.GetElementType(), items.Count);
                for (int k = 0; k < items.Count; k++)
                    arr.SetValue(Convert(items[k], t.GetElementType()), k);
                return arr;
            }
            Type dictOf = GenericArg(t, typeof(IDictionary<,>), 1);
            if (dictOf != null) {
                var obj = Need<Dictionary<string, object>>(v, t);
                var target = t.IsInterface ? typeof(Dictionary<,>).MakeGenericType(typeof(string), dictOf) : t;
                var dict = (IDictionary)Activator.CreateInstance(target);
                foreach (var kv in obj)
                    dict[kv.Key] = Convert(kv.Value, dictOf);
                return dict;
            }
            Type listOf = GenericArg(t, typeof(IEnumerable<>), 0);
            if (listOf != null) {
                var items = Need<List<object>>(v, t);
                var target = t.IsInterface ? typeof(List<>).MakeGenericType(listOf) : t;
                var list = (IList)Activator.CreateInstance(target);
                foreach (var item in items)
                    list.Add(Convert(item, listOf));
                return list;
            }
            return ToObject(Need<Dictionary<string, object>>(v, t), t);
        }

        static object ToObject(Dictionary<string, object> obj, Type t)
        {
            object o = Activator.CreateInstance(t);
            const BindingFlags pub = BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase;
            foreach (var kv in obj) {
                var p = t.GetProperty(kv.Key, pub);
                if (p != null && p.CanWrite && p.GetIndexParameters().Length == 0) {
                    p.SetValue(o, Convert(kv.Value, p.PropertyType), null);
                    continue;
                }
                var f = t.GetField(kv.Key, pub);
                if (f != null && !f.IsInitOnly)
                    f.SetValue(o, Convert(kv.Value, f.FieldType));
            }
            return o;
        }

        // The type argument at index of the generic interface def that t is
        // or implements, or null.
        static Type GenericArg(Type t, Type def, int index)
        {
            if (t.IsGenericType && t.GetGenericTypeDefinition() == def)
                return t.GetGenericArguments()[index];
            foreach (var i in t.GetInterfaces())
                if (i.IsGenericType && i.GetGenericTypeDefinition() == def)
                    return i.GetGenericArguments()[index];
            return null;
        }

        static T Need<T>(object v, Type target)
        {
            if (v is T)
                return (T)v;
            throw new JsonException("a JSON " + Kind(v) + " cannot be a " + target.Name);
        }

        static string Kind(object v)
        {
            return v == null ? "null" : v is string ? "string" : v is bool ? "boolean" : v is long || v is double ? "number"
                 : v is List<object> ? "array" : "object";
        }

        // ---------- a CLR value -> JSON ----------

        public static string Serialize(object v, bool camelCase = false)
        {
            var sb = new StringBuilder();
            Write(sb, v, camelCase, 0);
            return sb.ToString();
        }

        static void Write(StringBuilder sb, object v, bool camel, int depth)
        {
            if (depth > MaxDepth)
                throw new JsonException("nested deeper than " + MaxDepth + " (a cycle?)");
            if (v == null) { sb.Append("null"); return; }
            if (v is string) { Quote(sb, (string)v); return; }
            if (v is bool) { sb.Append((bool)v ? "true" : "false"); return; }
            if (v is char) { Quote(sb, v.ToString()); return; }
            if (v is Enum) { sb.Append(System.Convert.ToInt64(v, CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture)); return; }
            if (v is double || v is float) {
                double d = System.Convert.ToDouble(v, CultureInfo.InvariantCulture);
                if (double.IsNaN(d) || double.IsInfinity(d))
                    throw new JsonException(d + " is not a JSON number");
                sb.Append(d.ToString("R", CultureInfo.InvariantCulture));
                return;
            }
            if (v is IConvertible && v.GetType().IsPrimitive || v is decimal) {
                sb.Append(((IFormattable)v).ToString(null, CultureInfo.InvariantCulture));
                return;
            }
            if (v is DateTime) { Quote(sb, ((DateTime)v).ToString("o", CultureInfo.InvariantCulture)); return; }
            if (v is DateTimeOffset) { Quote(sb, ((DateTimeOffset)v).ToString("o", CultureInfo.InvariantCulture)); return; }
            if (v is Guid || v is Uri || v is TimeSpan) { Quote(sb, v.ToString()); return; }
            if (v is byte[]) { Quote(sb, System.Convert.ToBase64String((byte[])v)); return; }
            var dict = v as IDictionary;
            if (dict != null) {
                sb.Append('{');
                bool first = true;
                foreach (DictionaryEntry kv in dict) {
                    if (!first) sb.Append(',');
                    first = false;
                    Quote(sb, System.Convert.ToString(kv.Key, CultureInfo.InvariantCulture));
                    sb.Append(':');
                    Write(sb, kv.Value, camel, depth + 1);
                }
                sb.Append('}');
                return;
            }
            var seq = v as IEnumerable;
            if (seq != null) {
                sb.Append('[');
                bool first = true;
                foreach (var item in seq) {
                    if (!first) sb.Append(',');
                    first = false;
                    Write(sb, item, camel, depth + 1);
                }
                sb.Append(']');
                return;
            }
            WriteObject(sb, v, camel, depth);
        }

        static void WriteObject(StringBuilder sb, object v, bool camel, int depth)
        {
            sb.Append('{');
            bool first = true;
            var t = v.GetType();
            foreach (var p in t.GetProperties(BindingFlags.Public | BindingFlags.Instance)) {
                if (!p.CanRead || p.GetIndexParameters().Length > 0)
                    continue;
                if (!first) sb.Append(',');
                first = false;
                Quote(sb, Name(p.Name, camel));
                sb.Append(':');
                Write(sb, p.GetValue(v, null), camel, depth + 1);
            }
            foreach (var f in t.GetFields(BindingFlags.Public | BindingFlags.Instance)) {
                if (!first) sb.Append(',');
                first = false;
                Quote(sb, Name(f.Name, camel));
                sb.Append(':');
                Write(sb, f.GetValue(v), camel, depth + 1);
            }
            sb.Append('}');
        }

        static string Name(string name, bool camel)
        {
            return camel && name.Length > 0 ? char.ToLowerInvariant(name[0]) + name.Substring(1) : name;
        }

        public static void Quote(StringBuilder sb, string s)
        {
            sb.Append('"');
            foreach (char c in s) {
                switch (c) {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                default:
                    if (c < 0x20 || c == '\u2028' || c == '\u2029')
                        sb.Append("\\u").Append(((int)c).ToString("x4"));
                    else
                        sb.Append(c);
                    break;
                }
            }
            sb.Append('"');
        }
    }
}
