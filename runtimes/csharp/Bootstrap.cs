// Impuls C# runtime (Mono): speaks the AWS Lambda Runtime API (2018-06-01)
// to the daemon at $AWS_LAMBDA_RUNTIME_API, like runtimes/nodejs and
// runtimes/python. Started as `mono /var/runtime/csharp/lib/ImpulsBootstrap.exe`;
// _HANDLER is Lambda's `Assembly::Namespace.Class::Method`, the assembly
// /var/task/<Assembly>.dll (built by the daemon from the function's .cs, or
// shipped in its zip).
//
// `ImpulsBootstrap.exe --check <task dir> <handler>` is the build's last
// step (src/builder/handler_csharp.c): it loads the assembly and finds the
// handler exactly as a start would, and refuses an assembly built for .NET
// Core / .NET 5+, which Mono cannot run.
using System;
using System.Collections;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading.Tasks;
using Amazon.Lambda.Core;
using Amazon.Lambda.Serialization.SystemTextJson;
using Impuls.Json;

namespace Impuls.Runtime
{
    // A failure with Lambda's errorType (Runtime.* for the platform's own).
    class RuntimeError : Exception
    {
        public readonly string Type;
        public RuntimeError(string type, string message) : base(message) { Type = type; }
    }

    // The Runtime API over one kept-alive TCP connection: the daemon's answers
    // always carry Content-Length. A request that finds the connection closed
    // (the daemon closes one idle for 30 s, or after refusing a request) is
    // sent once more on a new one, as the other runtimes do.
    class RuntimeApi
    {
        readonly string host;
        readonly int port;
        Socket tcp;
        Stream stream;
        readonly byte[] buf = new byte[64 << 10];
        int start, end;

        public RuntimeApi(string address)
        {
            int colon = address.LastIndexOf(':');
            host = colon > 0 ? address.Substring(0, colon) : address;
            port = colon > 0 ? int.Parse(address.Substring(colon + 1)) : 80;
        }

        // An address, not a name: TcpClient(host, port) would resolve it
        // (some 50 ms of a Mono cold start).
        public void Connect()
        {
            Close();
            IPAddress ip;
            tcp = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            if (IPAddress.TryParse(host, out ip))
                tcp.Connect(new IPEndPoint(ip, port));
            else
                tcp.Connect(host, port);
            stream = new NetworkStream(tcp, true);
            start = end = 0;
        }

        public void Close()
        {
            if (stream != null)
                stream.Close();
            stream = null;
            tcp = null;
        }

        public int Request(string method, string path, byte[] body, string extraHeaders,
                           out Dictionary<string, string> headers, out byte[] data)
        {
            for (int attempt = 0; ; attempt++) {
                try {
                    if (tcp == null)
                        Connect();
                    int status = Exchange(method, path, body, extraHeaders, out headers, out data);
                    string conn;
                    if (headers.TryGetValue("connection", out conn) && conn == "close")
                        Close();
                    return status;
                } catch (Exception e) when (e is IOException || e is SocketException || e is ObjectDisposedException) {
                    Close();
                    if (attempt > 0) {
                        Console.Error.WriteLine("impuls: the Runtime API is gone: " + e.Message);
                        Environment.Exit(1);
                    }
                }
            }
        }

        int Exchange(string method, string path, byte[] body, string extra,
                     out Dictionary<string, string> headers, out byte[] data)
        {
            body = body ?? new byte[0];
            var head = method + " " + path + " HTTP/1.1\r\nHost: runtime\r\nContent-Type: application/json\r\n" +
                       (extra ?? "") + "Content-Length: " + body.Length + "\r\n\r\n";
            var headBytes = Encoding.ASCII.GetBytes(head);
            var all = new byte[headBytes.Length + body.Length];
            Buffer.BlockCopy(headBytes, 0, all, 0, headBytes.Length);
            Buffer.BlockCopy(body, 0, all, headBytes.Length, body.Length);
            stream.Write(all, 0, all.Length);
            string line = ReadLine();
            var parts = line.Split(' ');
            int status = parts.Length >= 2 ? int.Parse(parts[1]) : 0;
            headers = new Dictionary<string, string>();
            while ((line = ReadLine()) != "") {
                int colon = line.IndexOf(':');
                if (colon > 0)
                    headers[line.Substring(0, colon).Trim().ToLowerInvariant()] = line.Substring(colon + 1).Trim();
            }
            string len;
            data = new byte[headers.TryGetValue("content-length", out len) ? int.Parse(len) : 0];
            for (int got = 0; got < data.Length;) {
                if (start == end)
                    Fill();
                int n = Math.Min(end - start, data.Length - got);
                Buffer.BlockCopy(buf, start, data, got, n);
                start += n;
                got += n;
            }
            return status;
        }

        void Fill()
        {
            start = 0;
            end = stream.Read(buf, 0, buf.Length);
            if (end <= 0) {
                end = 0;
                throw new IOException("the Runtime API closed the connection");
            }
        }

        string ReadLine()
        {
            var sb = new StringBuilder();
            while (true) {
                if (start == end)
                    Fill();
                char c = (char)buf[start++];
                if (c == '\n')
                    return sb.ToString().TrimEnd('\r');
                sb.Append(c);
            }
        }
    }

    class Logger : ILambdaLogger
    {
        public void Log(string message) { LambdaLogger.Log(message); }
        public void LogLine(string message) { LambdaLogger.Log(message + Environment.NewLine); }
        public void LogTrace(string message) { Level("trace", message); }
        public void LogDebug(string message) { Level("debug", message); }
        public void LogInformation(string message) { Level("info", message); }
        public void LogWarning(string message) { Level("warn", message); }
        public void LogError(string message) { Level("error", message); }
        public void LogCritical(string message) { Level("crit", message); }
        static void Level(string level, string message) { LambdaLogger.Log("[" + level + "] " + message + Environment.NewLine); }
    }

    class Context : ILambdaContext
    {
        public static readonly Logger TheLogger = new Logger();
        long deadlineMs;
        public string AwsRequestId { get; set; }
        public IClientContext ClientContext { get { return null; } }
        public string FunctionName { get; set; }
        public string FunctionVersion { get; set; }
        public ICognitoIdentity Identity { get { return null; } }
        public string InvokedFunctionArn { get; set; }
        public ILambdaLogger Logger { get { return TheLogger; } }
        public string LogGroupName { get; set; }
        public string LogStreamName { get; set; }
        public int MemoryLimitInMB { get; set; }
        public TimeSpan RemainingTime
        {
            get
            {
                long now = (long)(DateTime.UtcNow - new DateTime(1970, 1, 1, 0, 0, 0, DateTimeKind.Utc)).TotalMilliseconds;
                return TimeSpan.FromMilliseconds(Math.Max(0, deadlineMs - now));
            }
        }
        public Context(Dictionary<string, string> h)
        {
            string v;
            AwsRequestId = h.TryGetValue("lambda-runtime-aws-request-id", out v) ? v : "";
            InvokedFunctionArn = h.TryGetValue("lambda-runtime-invoked-function-arn", out v) ? v : "";
            long.TryParse(h.TryGetValue("lambda-runtime-deadline-ms", out v) ? v : "0", out deadlineMs);
            FunctionName = Env("AWS_LAMBDA_FUNCTION_NAME");
            FunctionVersion = Env("AWS_LAMBDA_FUNCTION_VERSION");
            LogGroupName = Env("AWS_LAMBDA_LOG_GROUP_NAME");
            LogStreamName = Env("AWS_LAMBDA_LOG_STREAM_NAME");
            int mb;
            MemoryLimitInMB = int.TryParse(Env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"), out mb) ? mb : 0;
        }
        static string Env(string name) { return Environment.GetEnvironmentVariable(name) ?? ""; }
    }

    // The handler: the method, its instance, how its input is made and its
    // output written.
    class Handler
    {
        enum Input { None, Stream, Text, Typed }
        MethodInfo method;
        object target;
        Input input;
        Type inputType, outputType;
        bool takesContext, returnsTask;
        object serializer;

        public static Handler Load(string taskRoot, string spec, bool construct = true)
        {
            var parts = (spec ?? "").Split(new[] { "::" }, StringSplitOptions.None);
            if (parts.Length != 3 || parts.Any(p => p.Length == 0))
                throw new RuntimeError("Runtime.MalformedHandlerName",
                    "handler '" + spec + "': expected Assembly::Namespace.Class::Method");
            Assembly asm = LoadAssembly(taskRoot, parts[0]);
            CheckFramework(asm);
            Type type;
            try {
                type = asm.GetType(parts[1], false);
            } catch (Exception e) {
                throw new RuntimeError("Runtime.ImportModuleError", "cannot load the types of " + parts[0] + ": " + e.Message);
            }
            if (type == null)
                throw new RuntimeError("Runtime.HandlerNotFound", "type '" + parts[1] + "' is not in assembly " + parts[0]);
            var methods = type.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static)
                              .Where(m => m.Name == parts[2]).ToArray();
            if (methods.Length == 0)
                throw new RuntimeError("Runtime.HandlerNotFound", "public method '" + parts[2] + "' is not in type " + parts[1]);
            if (methods.Length > 1)
                throw new RuntimeError("Runtime.HandlerNotFound", "type " + parts[1] + " has " + methods.Length +
                                       " public methods named '" + parts[2] + "'; a handler must be one");
            var h = new Handler { method = methods[0] };
            h.Bind();
            h.serializer = h.FindSerializer(asm, construct);
            if (!h.method.IsStatic && !construct) {
                if (type.GetConstructor(Type.EmptyTypes) == null)
                    throw new RuntimeError("Runtime.HandlerNotFound", "type " + parts[1] +
                                           " needs a public constructor without parameters (its method is not static)");
            } else if (!h.method.IsStatic) {
                try {
                    h.target = Activator.CreateInstance(type);
                } catch (TargetInvocationException e) {
                    throw e.InnerException; // the constructor's own: an init error of the function
                } catch (MissingMethodException) {
                    throw new RuntimeError("Runtime.HandlerNotFound", "type " + parts[1] +
                                           " needs a public constructor without parameters (its method is not static)");
                }
            }
            return h;
        }

        static Assembly LoadAssembly(string taskRoot, string name)
        {
            foreach (var ext in new[] { ".dll", ".exe" }) {
                var path = Path.Combine(taskRoot, name + ext);
                if (!File.Exists(path))
                    continue;
                try {
                    return Assembly.LoadFrom(path);
                } catch (BadImageFormatException e) {
                    throw new RuntimeError("Runtime.ImportModuleError", name + ext + " is not a .NET assembly: " + e.Message);
                }
            }
            throw new RuntimeError("Runtime.ImportModuleError", "assembly '" + name + "' not found: no " + name + ".dll in the code");
        }

        // Mono runs assemblies of .NET Framework 4.x and .NET Standard 2.0;
        // one built for .NET Core or .NET 5+ references their System.Runtime.
        public static void CheckFramework(Assembly asm)
        {
            foreach (var a in asm.GetCustomAttributesData())
                if (a.AttributeType.FullName == "System.Runtime.Versioning.TargetFrameworkAttribute" &&
                    a.ConstructorArguments.Count == 1) {
                    var tf = a.ConstructorArguments[0].Value as string ?? "";
                    if (tf.StartsWith(".NETCoreApp") || tf.StartsWith(".NETStandard,Version=v2.1"))
                        throw new RuntimeError("Runtime.UnsupportedFramework", asm.GetName().Name + " targets " + tf +
                            ": Impuls runs C# on Mono, which runs .NET Framework 4.x and .NET Standard 2.0 assemblies; " +
                            "build it for netstandard2.0 or net48, or send its .cs source");
                }
            foreach (var r in asm.GetReferencedAssemblies())
                if (r.Name == "System.Runtime" && r.Version.Major >= 5)
                    throw new RuntimeError("Runtime.UnsupportedFramework", asm.GetName().Name + " references System.Runtime " +
                        r.Version + " (.NET " + r.Version.Major + "): Impuls runs C# on Mono, which runs .NET Framework 4.x " +
                        "and .NET Standard 2.0 assemblies; build it for netstandard2.0 or net48, or send its .cs source");
        }

        void Bind()
        {
            var ps = method.GetParameters();
            int n = ps.Length;
            if (n > 0 && ps[n - 1].ParameterType == typeof(ILambdaContext)) {
                takesContext = true;
                n--;
            }
            if (n > 1 || ps.Take(n).Any(p => p.ParameterType == typeof(ILambdaContext)))
                throw new RuntimeError("Runtime.HandlerNotFound", "method " + method.Name +
                    ": a handler takes (input), (input, ILambdaContext), (ILambdaContext) or nothing");
            if (n == 1) {
                inputType = ps[0].ParameterType;
                input = inputType == typeof(Stream) ? Input.Stream : inputType == typeof(string) ? Input.Text : Input.Typed;
            }
            outputType = method.ReturnType;
            if (typeof(Task).IsAssignableFrom(outputType)) {
                returnsTask = true;
                outputType = outputType.IsGenericType ? outputType.GetGenericArguments()[0] : typeof(void);
            }
        }

        // The [LambdaSerializer] of the method or the assembly, else ours.
        // Not made (its constructor is the function's code) when only checked.
        object FindSerializer(Assembly asm, bool construct)
        {
            var attr = (LambdaSerializerAttribute)Attribute.GetCustomAttribute(method, typeof(LambdaSerializerAttribute)) ??
                       (LambdaSerializerAttribute)Attribute.GetCustomAttribute(asm, typeof(LambdaSerializerAttribute));
            if (attr == null || attr.SerializerType == null)
                return new DefaultLambdaJsonSerializer();
            var t = attr.SerializerType;
            if (!typeof(ILambdaSerializer).IsAssignableFrom(t) || t.IsAbstract || t.GetConstructor(Type.EmptyTypes) == null)
                throw new RuntimeError("Runtime.SerializerNotFound", "serializer " + t.FullName +
                    " must be a class implementing ILambdaSerializer with a public constructor without parameters");
            if (!construct)
                return null;
            try {
                return Activator.CreateInstance(t);
            } catch (TargetInvocationException e) {
                throw e.InnerException;
            }
        }

        // The serializer's own methods, through the interface: an explicit
        // implementation or an overload of the same name is still the one.
        static readonly MethodInfo SerializeMethod = typeof(ILambdaSerializer).GetMethod("Serialize");
        static readonly MethodInfo DeserializeMethod = typeof(ILambdaSerializer).GetMethod("Deserialize");

        public byte[] Invoke(byte[] body, Context ctx)
        {
            var args = new List<object>();
            if (input == Input.Stream)
                args.Add(new MemoryStream(body, false));
            else if (input == Input.Text)
                args.Add(AsText(body));
            else if (input == Input.Typed)
                args.Add(Deserialize(body.Length == 0 ? Encoding.ASCII.GetBytes("{}") : body));
            if (takesContext)
                args.Add(ctx);
            object result;
            try {
                result = method.Invoke(target, args.ToArray());
                if (returnsTask) {
                    var task = (Task)result;
                    task.Wait();
                    result = outputType == typeof(void) ? null : task.GetType().GetProperty("Result").GetValue(task, null);
                }
            } catch (Exception e) when (e is TargetInvocationException || e is AggregateException) {
                // The handler's own exception, with its own stack (a bare
                // `throw inner` would restart the stack here).
                ExceptionDispatchInfo.Capture(Unwrap(e)).Throw();
                throw;
            }
            if (outputType == typeof(void) || result == null)
                return Encoding.ASCII.GetBytes("null");
            var stream = result as Stream;
            if (stream != null) {
                var copy = new MemoryStream();
                stream.CopyTo(copy);
                return copy.ToArray();
            }
            try {
                var outStream = new MemoryStream();
                var serialize = SerializeMethod.MakeGenericMethod(outputType);
                serialize.Invoke(serializer, new object[] { result, outStream });
                return outStream.ToArray();
            } catch (Exception e) {
                throw new RuntimeError("Runtime.MalformedResult", "the handler's result could not be serialized to JSON: " + Unwrap(e).Message);
            }
        }

        // A string input: a JSON string's value; any other event as its JSON text.
        static string AsText(byte[] body)
        {
            var text = new UTF8Encoding(false).GetString(body);
            if (text.TrimStart().StartsWith("\"")) {
                try {
                    return (string)JsonCodec.Parse(text);
                } catch (Exception) { // not one JSON string after all: the text as it came
                }
            }
            return text;
        }

        object Deserialize(byte[] body)
        {
            try {
                var deserialize = DeserializeMethod.MakeGenericMethod(inputType);
                return deserialize.Invoke(serializer, new object[] { new MemoryStream(body, false) });
            } catch (Exception e) {
                var inner = Unwrap(e);
                throw new RuntimeError("Runtime.SerializationError", "the event could not be read as " + inputType.Name + ": " + inner.Message);
            }
        }

        public static Exception Unwrap(Exception e)
        {
            while (true) {
                if (e is TargetInvocationException && e.InnerException != null)
                    e = e.InnerException;
                else if (e is AggregateException && ((AggregateException)e).InnerExceptions.Count == 1)
                    e = ((AggregateException)e).InnerExceptions[0];
                else
                    return e;
            }
        }
    }

    static class Program
    {
        const string Prefix = "/2018-06-01/runtime";
        const string ThenNext = "Impuls-Next: 1\r\n"; // the daemon answers a post with the next event

        static int Main(string[] args)
        {
            if (args.Length == 3 && args[0] == "--check")
                return Check(args[1], args[2]);
            string claim = Environment.GetEnvironmentVariable("IMPULS_CLAIM_FD");
            if (claim != null) {
                WarmUp();
                AwaitClaim(int.Parse(claim));
            }
            string taskRoot = Environment.GetEnvironmentVariable("LAMBDA_TASK_ROOT") ?? "/var/task";
            AppDomain.CurrentDomain.AssemblyResolve += (sender, e) => Resolve(taskRoot, e.Name);
            var api = new RuntimeApi(Environment.GetEnvironmentVariable("AWS_LAMBDA_RUNTIME_API") ?? "127.0.0.1:9001");
            Dictionary<string, string> headers;
            byte[] body;
            Handler handler;
            try {
                handler = Handler.Load(taskRoot, Environment.GetEnvironmentVariable("_HANDLER"));
            } catch (Exception e) {
                var err = ErrorBody(e, out string type);
                Console.Error.WriteLine(type + ": " + Handler.Unwrap(e).Message);
                api.Request("POST", Prefix + "/init/error", err, "Lambda-Runtime-Function-Error-Type: " + type + "\r\n", out headers, out body);
                return 1;
            }
            int status = api.Request("GET", Prefix + "/invocation/next", null, null, out headers, out body);
            while (true) {
                if (status != 200)
                    throw new Exception("invocation/next returned HTTP " + status);
                var ctx = new Context(headers);
                string trace;
                Environment.SetEnvironmentVariable("_X_AMZN_TRACE_ID", headers.TryGetValue("lambda-runtime-trace-id", out trace) ? trace : null);
                string path = Prefix + "/invocation/" + ctx.AwsRequestId;
                byte[] result = null, error = null;
                string errType = null;
                try {
                    result = handler.Invoke(body, ctx);
                } catch (Exception e) {
                    error = ErrorBody(e, out errType);
                    if (!errType.StartsWith("Runtime."))
                        Console.Error.WriteLine(Handler.Unwrap(e).ToString()); // in the function's log, as on Lambda
                }
                Console.Out.Flush();
                Console.Error.Flush();
                if (error != null)
                    status = api.Request("POST", path + "/error", error, ThenNext + "Lambda-Runtime-Function-Error-Type: " +
                                         (errType.StartsWith("Runtime.") ? errType : "Unhandled") + "\r\n", out headers, out body);
                else
                    status = api.Request("POST", path + "/response", result, ThenNext, out headers, out body);
                if (status != 200)
                    status = api.Request("GET", Prefix + "/invocation/next", null, null, out headers, out body);
            }
        }

        // {errorType, errorMessage, stackTrace}: the exception's type name
        // (as Lambda's .NET runtime reports it) and its stack, a frame a line.
        static byte[] ErrorBody(Exception e, out string type)
        {
            e = Handler.Unwrap(e);
            var re = e as RuntimeError;
            type = re != null ? re.Type : e.GetType().Name;
            var sb = new StringBuilder("{\"errorType\":");
            JsonCodec.Quote(sb, type);
            sb.Append(",\"errorMessage\":");
            JsonCodec.Quote(sb, e.Message ?? "");
            sb.Append(",\"stackTrace\":[");
            var frames = re != null || e.StackTrace == null ? new string[0]
                       : e.StackTrace.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();
            for (int i = 0; i < frames.Length; i++) {
                if (i > 0) sb.Append(',');
                JsonCodec.Quote(sb, frames[i]);
            }
            sb.Append("]}");
            return new UTF8Encoding(false).GetBytes(sb.ToString());
        }

        // A handler compiled against Amazon's own Amazon.Lambda.Core (a
        // strong-named NuGet assembly) gets ours; other references are looked
        // for beside the function's assembly.
        static Assembly Resolve(string taskRoot, string fullName)
        {
            var name = new AssemblyName(fullName).Name;
            if (name == "Amazon.Lambda.Core" || name.StartsWith("Amazon.Lambda.Serialization."))
                return typeof(ILambdaContext).Assembly;
            var path = Path.Combine(taskRoot, name + ".dll");
            return File.Exists(path) ? Assembly.LoadFrom(path) : null;
        }

        static int Check(string taskRoot, string spec)
        {
            AppDomain.CurrentDomain.AssemblyResolve += (sender, e) => Resolve(taskRoot, e.Name);
            try {
                Handler.Load(taskRoot, spec, false); // its constructor runs at the start, not in the build
                return 0;
            } catch (Exception e) {
                e = Handler.Unwrap(e);
                var re = e as RuntimeError;
                Console.Error.WriteLine((re != null ? re.Type : e.GetType().Name) + ": " + e.Message);
                return 1;
            }
        }

        // A pre-made sandbox: JIT-compile what every call runs (the JSON
        // codec, a serializer, the Runtime API client with one exchange with
        // a throwaway local listener) before any function is chosen, then
        // wait until init has bound the code at /var/task and sends the
        // function's environment.
        static void WarmUp()
        {
            var s = new DefaultLambdaJsonSerializer();
            var parsed = s.Deserialize<Dictionary<string, object>>(new MemoryStream(Encoding.UTF8.GetBytes("{\"a\":[1,2.5,\"x\",true,null],\"b\":{}}")));
            s.Serialize(parsed, new MemoryStream());
            Handler.Unwrap(new Exception());
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var api = new RuntimeApi("127.0.0.1:" + ((IPEndPoint)listener.LocalEndpoint).Port);
            api.Connect();
            using (var peer = listener.AcceptSocket()) {
                // The answer goes first: it waits in the socket for the request's read.
                peer.Send(Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"));
                Dictionary<string, string> headers;
                byte[] body;
                api.Request("POST", "/", Encoding.ASCII.GetBytes("{}"), ThenNext, out headers, out body);
            }
            api.Close();
            listener.Stop();
        }

        // The pipe from init is a bare fd, which Mono's FileStream does not
        // take (its handles are its own): read(2) it.
        const int EINTR = 4;
        [DllImport("libc", SetLastError = true)]
        static extern IntPtr read(int fd, byte[] buf, IntPtr count);
        [DllImport("libc")]
        static extern int close(int fd);

        static void AwaitClaim(int fd)
        {
            var data = new MemoryStream();
            var chunk = new byte[65536];
            long n;
            while ((n = (long)read(fd, chunk, (IntPtr)chunk.Length)) > 0 || (n < 0 && Marshal.GetLastWin32Error() == EINTR))
                data.Write(chunk, 0, (int)Math.Max(n, 0));
            close(fd);
            var env = (Dictionary<string, object>)JsonCodec.Parse(new UTF8Encoding(false).GetString(data.ToArray()));
            foreach (DictionaryEntry kv in Environment.GetEnvironmentVariables())
                if (!env.ContainsKey((string)kv.Key))
                    Environment.SetEnvironmentVariable((string)kv.Key, null);
            foreach (var kv in env)
                Environment.SetEnvironmentVariable(kv.Key, kv.Value as string);
            Environment.CurrentDirectory = Environment.GetEnvironmentVariable("LAMBDA_TASK_ROOT") ?? "/var/task";
        }
    }
}
