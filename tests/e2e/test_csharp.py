"""C# handlers on Mono (runtime "csharp", also spelled "dotnet8", "dotnet6",
"dotnet"): Lambda's `Assembly::Namespace.Class::Method` handlers as a .NET
Lambda user writes them, compiled by the daemon in its build sandbox with
mcs (C# 7) against Impuls's own Amazon.Lambda.Core (runtimes/csharp), or a
zip holding the built assembly. docs/runtimes.md, "C#"."""
import json
import os
import subprocess
import time

import pytest

from conftest import log_tail, running_daemon
from lambda_helpers import b64zip, zip_bytes

CORE_DLL = os.path.join(os.path.dirname(__file__), "..", "..", "runtimes", "csharp", "lib", "Amazon.Lambda.Core.dll")

HELLO = """using System;
using System.Collections.Generic;
using Amazon.Lambda.Core;

namespace Hello
{
    public class Function
    {
        public Dictionary<string, object> Handler(Dictionary<string, object> input, ILambdaContext context)
        {
            Console.WriteLine("hello from C#");
            context.Logger.LogLine("via the logger");
            return new Dictionary<string, object> {
                {"greeting", "Hello, " + input["name"] + "!"},
                {"function", context.FunctionName},
                {"memory", context.MemoryLimitInMB},
            };
        }
    }
}
"""

# The handler shapes of Lambda's .NET programming model, one class.
SHOP = """using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using Amazon.Lambda.Core;

[assembly: LambdaSerializer(typeof(Amazon.Lambda.Serialization.SystemTextJson.DefaultLambdaJsonSerializer))]

namespace Shop
{
    public enum Size { Small, Large }

    public class Order
    {
        public string Item { get; set; }
        public int Qty { get; set; }
        public Size Size { get; set; }
        public List<string> Notes { get; set; }
        public double? Discount;
    }

    public class Receipt
    {
        public string Text { get; set; }
        public string RequestId { get; set; }
        public string Function { get; set; }
        public bool HasTime { get; set; }
        public string[] Notes { get; set; }
    }

    public class Function
    {
        public Stream Echo(Stream input, ILambdaContext context)
        {
            var copy = new MemoryStream();
            input.CopyTo(copy);
            copy.Position = 0;
            return copy;
        }

        public string Upper(string input, ILambdaContext context) { return input.ToUpperInvariant(); }

        public Receipt Buy(Order order, ILambdaContext context)
        {
            if (order.Qty <= 0)
                throw new InvalidOperationException("no quantity for " + order.Item);
            Console.Error.WriteLine("buying " + order.Item);
            return new Receipt {
                Text = order.Qty + " x " + order.Size + " " + order.Item + (order.Discount.HasValue ? " -" + order.Discount : ""),
                RequestId = context.AwsRequestId,
                Function = context.FunctionName,
                HasTime = context.RemainingTime > TimeSpan.Zero,
                Notes = (order.Notes ?? new List<string>()).ToArray(),
            };
        }

        public async Task<string> Later(Dictionary<string, object> e)
        {
            await Task.Delay(5);
            return "later: " + e["x"];
        }

        public async Task Nothing(ILambdaContext context)
        {
            await Task.Delay(1);
            context.Logger.LogLine("did nothing");
        }

        public async Task<int> Fails(ILambdaContext context)
        {
            await Task.Delay(1);
            throw new ArgumentException("bad argument, later");
        }

        public static int Sum(List<int> numbers) { return numbers.Sum(); }

        public object Nan(ILambdaContext context) { return double.NaN; }
    }
}
"""


@pytest.fixture(scope="module")
def d():
    with running_daemon() as d:
        yield d


def tasks(d):
    return sorted(os.listdir(os.path.join(d.data_dir, "tasks")))


def mcs(tmp_path, source, name, *flags):
    """A built assembly, as a user would bring one (mcs on the host is the
    user's own compiler here, not the daemon's)."""
    src = tmp_path / f"{name}.cs"
    src.write_text(source)
    out = tmp_path / f"{name}.dll"
    subprocess.run(["mcs", "-nologo", "-target:library", f"-r:{CORE_DLL}", f"-out:{out}", *flags, str(src)],
                   check=True, capture_output=True)
    return out.read_bytes()


def target(source, framework):
    """source with the TargetFramework attribute a .NET SDK build gives an assembly."""
    return source.replace("namespace ", f"[assembly: System.Runtime.Versioning.TargetFramework(\"{framework}\")]\n"
                                        "namespace ", 1)


def test_an_inline_handler_with_a_dictionary_and_the_context(d):
    f = d.create(name="hello", runtime="csharp", handler="Hello::Hello.Function::Handler", code=HELLO, memory_mb=192)
    assert (f["runtime"], f["handler"], f["code_kind"]) == ("csharp", "Hello::Hello.Function::Handler", "inline")
    r = d.invoke("hello", {"name": "World"}, headers={"X-Impuls-Log-Type": "Tail"})
    assert r.status == 200, r.body
    assert r.json() == {"greeting": "Hello, World!", "function": "hello", "memory": 192}
    assert "hello from C#\nvia the logger\n" in log_tail(r)
    # Warm: the same instance answers again.
    assert d.invoke("hello", {"name": "again"}).json()["greeting"] == "Hello, again!"
    assert len(d.instances("hello")) == 1
    runtimes = d.request("GET", "/api/v1/runtimes").json()["runtimes"]
    assert {"name": "csharp", "language": "csharp", "interpreter": "/usr/bin/mono", "available": True} in runtimes


@pytest.mark.parametrize("spelling", ["dotnet8", "dotnet6", "dotnet"])
def test_lambdas_dotnet_names_are_spellings_of_csharp(d, spelling):
    f = d.create(name=f"n-{spelling}", runtime=spelling, handler="Hello::Hello.Function::Handler", code=HELLO)
    assert f["runtime"] == "csharp"
    assert d.invoke(f"n-{spelling}", {"name": spelling}).json()["greeting"] == f"Hello, {spelling}!"


@pytest.fixture(scope="module")
def shop(d):
    """One zip of source, a function per handler (each its own build)."""
    z = b64zip({"Shop.cs": SHOP})
    for method in ("Echo", "Upper", "Buy", "Later", "Nothing", "Fails", "Sum", "Nan"):
        d.create(name=f"shop-{method.lower()}", runtime="csharp", handler=f"Shop::Shop.Function::{method}", zip=z)
    return d


def test_a_stream_handler_gets_and_returns_the_raw_bytes(shop):
    r = shop.request("POST", "/api/v1/functions/shop-echo/invoke", b'{"raw": [1, 2,  3]}')
    assert (r.status, r.body) == (200, b'{"raw": [1, 2,  3]}')


def test_a_string_handler_gets_a_json_string_as_its_value(shop):
    assert shop.invoke("shop-upper", "make me loud").json() == "MAKE ME LOUD"


def test_a_poco_in_and_out_with_names_matched_case_insensitively(shop):
    r = shop.invoke("shop-buy", {"item": "pen", "QTY": 3, "size": "large", "notes": ["gift"], "discount": 0.5})
    assert r.status == 200, r.body
    assert r.json() == {"Text": "3 x Large pen -0.5", "RequestId": r.headers["X-Impuls-Request-Id"],
                        "Function": "shop-buy", "HasTime": True, "Notes": ["gift"]}


def test_task_handlers_are_awaited(shop):
    assert shop.invoke("shop-later", {"x": 7}).json() == "later: 7"
    r = shop.invoke("shop-nothing", headers={"X-Impuls-Log-Type": "Tail"})
    assert (r.status, r.body) == (200, b"null")
    assert "did nothing\n" in log_tail(r)


def test_a_static_handler_with_a_list(shop):
    assert shop.invoke("shop-sum", [1, 2, 39]).json() == 42


def test_an_exception_comes_back_with_type_message_and_stack_and_the_instance_lives_on(shop):
    r = shop.invoke("shop-buy", {"item": "cup", "qty": 0}, headers={"X-Impuls-Log-Type": "Tail"})
    assert r.status == 500
    e = r.json()
    assert (e["errorType"], e["errorMessage"]) == ("InvalidOperationException", "no quantity for cup")
    assert any("Shop.Function.Buy" in line for line in e["stackTrace"]), e["stackTrace"]
    assert "System.InvalidOperationException: no quantity for cup" in log_tail(r)
    (inst,) = shop.instances("shop-buy")
    assert shop.invoke("shop-buy", {"item": "cup", "qty": 1}).json()["Text"] == "1 x Small cup"
    assert [i["id"] for i in shop.instances("shop-buy")] == [inst["id"]]


def test_an_exception_of_an_async_handler_is_its_own_not_the_tasks(shop):
    r = shop.invoke("shop-fails")
    assert r.status == 500
    assert (r.json()["errorType"], r.json()["errorMessage"]) == ("ArgumentException", "bad argument, later")


def test_an_event_that_does_not_fit_the_input_type_and_a_result_that_is_not_json(shop):
    # Runtime.* errors are the runtime's, not the function's: 502, as for Node and Python.
    r = shop.invoke("shop-sum", {"not": "a list"})
    assert r.status == 502
    assert r.json()["errorType"] == "Runtime.SerializationError"
    assert r.json()["errorMessage"] == "the event could not be read as List`1: a JSON object cannot be a List`1"
    r = shop.invoke("shop-nan")
    assert r.status == 502
    assert (r.json()["errorType"], r.json()["errorMessage"]) == \
        ("Runtime.MalformedResult", "the handler's result could not be serialized to JSON: NaN is not a JSON number")


def test_a_compile_error_is_a_400_with_file_line_column_and_the_language_level(d):
    before = tasks(d)
    r = d.request("POST", "/api/v1/functions", {
        "name": "broken", "runtime": "csharp", "handler": "Broken::Broken.F::H",
        "code": "namespace Broken {\n  public class F {\n    public int H() { return nope; }\n  }\n}\n"})
    assert r.status == 400, r.body
    assert r.json() == {
        "errorType": "InvalidParameterValueException",
        "errorMessage": "the source does not build: mcs (Mono's C# compiler: C# 7, not 8 or later) failed "
                        "(exit status 1)\nFunction.cs(3,29): error CS0103: The name `nope' does not exist in the "
                        "current context\nCompilation failed: 1 error(s), 0 warnings\n"}
    assert d.request("GET", "/api/v1/functions/broken").status == 404
    assert tasks(d) == before


def test_a_construct_newer_than_csharp_7_is_a_compile_error_naming_the_line(d):
    # A switch expression (C# 8).
    r = d.request("POST", "/api/v1/functions", {
        "name": "modern", "runtime": "csharp", "handler": "M::M.F::H",
        "code": "namespace M {\n  public class F {\n    public string H(int x) {\n"
                "      return x switch { 1 => \"one\", _ => \"many\" };\n    }\n  }\n}\n"})
    assert r.status == 400, r.body
    message = r.json()["errorMessage"]
    assert message.startswith("the source does not build: mcs (Mono's C# compiler: C# 7, not 8 or later) failed")
    assert "Function.cs(4," in message and "error CS" in message


def test_a_zip_of_sources_in_folders_with_its_project_and_build_output_left_out(d):
    z = b64zip({
        "Greeter.csproj": "<Project Sdk=\"Microsoft.NET.Sdk\"></Project>\n",
        "src/Function.cs": "using Amazon.Lambda.Core;\nnamespace Greeter {\n  public class Function {\n"
                           "    public string Greet(string who, ILambdaContext c) { return Words.Hi(who); }\n  }\n}\n",
        "src/util/Words.cs": "namespace Greeter {\n  static class Words {\n"
                             "    public static string Hi(string who) { return \"hi \" + who; }\n  }\n}\n",
        "obj/Debug/net8.0/Greeter.AssemblyInfo.cs": "global using System; this is not C# 7\n",
        "src/tests/obj/Debug/net8.0/Tests.AssemblyInfo.cs": "global using Xunit;\n",  # bin/ and obj/ at any depth
        "bin/Debug/net8.0/Greeter.deps.json": "{}",
    })
    d.create(name="greeter", runtime="dotnet8", handler="Greeter::Greeter.Function::Greet", zip=z)
    assert d.invoke("greeter", "zip").json() == "hi zip"


def test_file_names_in_a_zip_are_sources_to_mcs_never_options_or_response_files(d):
    # "@x" would be a response file to mcs and "-x" an option (here one that
    # writes a file); a ',' in a reference's name would split it in two.
    z = b64zip({"Function.cs": HELLO,
                "@extra.cs": "namespace Hello { class Extra { } }\n",
                "-doc:injected.xml.cs": "namespace Hello { class Extra2 { } }\n",
                "a,Hello.dll": "not an assembly"})
    d.create(name="names", runtime="csharp", handler="Hello::Hello.Function::Handler", zip=z)
    assert d.invoke("names", {"name": "zip"}).json()["greeting"] == "Hello, zip!"
    key = next(t for t in tasks(d) if os.path.exists(os.path.join(d.data_dir, "tasks", t, "@extra.cs")))
    assert sorted(os.listdir(os.path.join(d.data_dir, "tasks", key))) == \
        ["-doc:injected.xml.cs", "@extra.cs", "Function.cs", "Hello.dll", "a,Hello.dll"]


def test_a_serializer_of_the_functions_own_is_made_at_the_start_and_called_through_the_interface(d):
    # Explicit interface methods (not found by name); its constructor is the
    # function's code: it runs when an instance starts, never in the build.
    code = """using System;
using System.IO;
using System.Text;
using Amazon.Lambda.Core;
[assembly: LambdaSerializer(typeof(Own.Upper))]
namespace Own {
  public class Upper : ILambdaSerializer {
    public Upper() { if (Environment.GetEnvironmentVariable("SER") != "on") throw new Exception("serializer off"); }
    T ILambdaSerializer.Deserialize<T>(Stream s) { return (T)(object)new StreamReader(s).ReadToEnd(); }
    void ILambdaSerializer.Serialize<T>(T v, Stream s) { var b = Encoding.UTF8.GetBytes(v.ToString().ToUpperInvariant()); s.Write(b, 0, b.Length); }
  }
  public class F { public object H(object e) { return "[" + e + "]"; } }
}
"""
    d.create(name="ownser", runtime="csharp", handler="Own::Own.F::H", code=code)
    r = d.invoke("ownser", {"x": 1})
    assert (r.status, r.json()["errorType"], r.json()["errorMessage"]) == (502, "Exception", "serializer off")
    assert d.request("PUT", "/api/v1/functions/ownser", {"env": {"SER": "on"}}).status == 200
    r = d.invoke("ownser", {"x": 1})
    assert (r.status, r.json()) == (200, [{"X": 1}])


def test_a_serializer_that_is_not_one_is_a_400(d):
    code = ("[assembly: Amazon.Lambda.Core.LambdaSerializer(typeof(Bad.F))]\n"
            "namespace Bad { public class F { public int H() { return 1; } } }\n")
    r = d.request("POST", "/api/v1/functions", {"name": "badser", "runtime": "csharp", "handler": "Bad::Bad.F::H",
                                                 "code": code})
    assert (r.status, r.json()["errorMessage"]) == (
        400, "the source does not build: the handler's check failed (exit status 1)\nRuntime.SerializerNotFound: "
             "serializer Bad.F must be a class implementing ILambdaSerializer with a public constructor without "
             "parameters\n")


def test_a_zip_holding_a_built_assembly_runs_as_it_is(d, tmp_path):
    dll = mcs(tmp_path, HELLO.replace("Hello, ", "Built, "), "Hello")
    d.create(name="prebuilt", runtime="csharp", handler="Hello::Hello.Function::Handler",
             zip=b64zip({"Hello.dll": dll}))
    assert d.invoke("prebuilt", {"name": "dll"}).json()["greeting"] == "Built, dll!"
    # netstandard2.0 is what Mono runs too.
    std = mcs(tmp_path, target(HELLO.replace("Hello, ", "Std, "), ".NETStandard,Version=v2.0"), "Hello")
    d.create(name="prebuilt-std", runtime="csharp", handler="Hello::Hello.Function::Handler",
             zip=b64zip({"Hello.dll": std}))
    assert d.invoke("prebuilt-std", {"name": "2.0"}).json()["greeting"] == "Std, 2.0!"


def test_an_assembly_built_for_net8_is_a_clear_400(d, tmp_path):
    dll = mcs(tmp_path, target(HELLO, ".NETCoreApp,Version=v8.0"), "Hello")
    r = d.request("POST", "/api/v1/functions", {"name": "net8", "runtime": "dotnet8",
                                                 "handler": "Hello::Hello.Function::Handler",
                                                 "zip": b64zip({"Hello.dll": dll})})
    assert r.status == 400
    assert r.json()["errorMessage"] == (
        "the source does not build: the handler's check failed (exit status 1)\n"
        "Runtime.UnsupportedFramework: Hello targets .NETCoreApp,Version=v8.0: Impuls runs C# on Mono, which runs "
        ".NET Framework 4.x and .NET Standard 2.0 assemblies; build it for netstandard2.0 or net48, or send its "
        ".cs source\n")
    assert d.request("GET", "/api/v1/functions/net8").status == 404


@pytest.mark.parametrize("handler,message", [
    ("Hello::Hello.Function::Nope", "Runtime.HandlerNotFound: public method 'Nope' is not in type Hello.Function"),
    ("Hello::Hello.Nobody::Handler", "Runtime.HandlerNotFound: type 'Hello.Nobody' is not in assembly Hello"),
])
def test_a_handler_the_assembly_lacks_is_a_400_at_create(d, handler, message):
    r = d.request("POST", "/api/v1/functions", {"name": "lost", "runtime": "csharp", "handler": handler,
                                                 "code": HELLO})
    assert (r.status, r.json()["errorMessage"]) == \
        (400, f"the source does not build: the handler's check failed (exit status 1)\n{message}\n")


def test_a_zip_without_source_or_the_assembly_is_a_400(d):
    r = d.request("POST", "/api/v1/functions", {"name": "empty", "runtime": "csharp",
                                                 "handler": "Hello::Hello.Function::Handler",
                                                 "zip": b64zip({"README.md": "nothing here\n"})})
    assert (r.status, r.json()["errorMessage"]) == \
        (400, "the source does not build: no .cs source and no Hello.dll in the code (the handler's assembly)")


BAD_HANDLER = ("handler '{}': Assembly::Namespace.Class::Method (the assembly a file name of letters, digits, "
               "'_', '-' and '.'; the method a C# name)")


@pytest.mark.parametrize("spec,message", [
    ({"handler": "index.handler"}, BAD_HANDLER.format("index.handler")),
    ({"handler": "Hello::Hello.Function"}, BAD_HANDLER.format("Hello::Hello.Function")),
    ({"handler": "../x::A.B::C"}, BAD_HANDLER.format("../x::A.B::C")),
    ({"handler": "A::B::C::D"}, BAD_HANDLER.format("A::B::C::D")),
    ({"handler": "A::B::9x"}, BAD_HANDLER.format("A::B::9x")),
    ({"mode": "http", "handler": "server"}, "runtime 'csharp' builds handlers; an HTTP server in C# is a provided function (or impuls up "
                       "with a Dockerfile)"),
])
def test_bad_csharp_fields_are_refused(d, spec, message):
    body = {"name": "badcs", "runtime": "csharp", "handler": "Hello::Hello.Function::Handler", "code": HELLO}
    r = d.request("POST", "/api/v1/functions", {**body, **spec})
    assert (r.status, r.json()["errorMessage"]) == (400, message)
    assert d.request("GET", "/api/v1/functions/badcs").status == 404


def test_a_constructor_runs_at_the_start_and_its_exception_is_an_init_error(d):
    code = HELLO.replace("public class Function\n    {",
                         "public class Function\n    {\n        public Function() { "
                         "if (System.Environment.GetEnvironmentVariable(\"READY\") != \"yes\") "
                         "throw new System.Exception(\"not ready\"); }")
    d.create(name="ctor", runtime="csharp", handler="Hello::Hello.Function::Handler", code=code)
    r = d.invoke("ctor", {"name": "x"})
    assert r.status == 502
    assert (r.json()["errorType"], r.json()["errorMessage"]) == ("Exception", "not ready")
    assert d.request("PUT", "/api/v1/functions/ctor", {"env": {"READY": "yes"}}).status == 200
    assert d.invoke("ctor", {"name": "ready"}).json()["greeting"] == "Hello, ready!"


def test_a_camel_case_serializer_named_by_the_assembly(d):
    code = ("[assembly: Amazon.Lambda.Core.LambdaSerializer("
            "typeof(Amazon.Lambda.Serialization.SystemTextJson.CamelCaseLambdaJsonSerializer))]\n"
            "namespace Camel {\n  public class Out { public string FirstName { get; set; } public int Age; }\n"
            "  public class F {\n    public Out H(Out o) { o.Age++; return o; }\n  }\n}\n")
    d.create(name="camel", runtime="csharp", handler="Camel::Camel.F::H", code=code)
    assert d.invoke("camel", {"firstName": "Ada", "age": 36}).json() == {"firstName": "Ada", "age": 37}


def test_leaving_csharp_needs_the_code_again(d):
    d.create(name="leaving", runtime="csharp", handler="Hello::Hello.Function::Handler", code=HELLO)
    r = d.request("PUT", "/api/v1/functions/leaving", {"runtime": "nodejs20"})
    assert (r.status, r.json()["errorMessage"]) == \
        (400, "give the code again (code or zip) when the runtime changes from csharp")
    # Go's builds would take the stored C# source as Go: the code again, too.
    r = d.request("PUT", "/api/v1/functions/leaving", {"runtime": "go", "handler": "Handler"})
    assert (r.status, r.json()["errorMessage"]) == \
        (400, "give the code again (code or zip) when the runtime changes from csharp")
    # A new handler of the same source is built again.
    r = d.request("PUT", "/api/v1/functions/leaving", {"handler": "Hello::Hello.Function::Missing"})
    assert (r.status, r.json()["errorMessage"]) == \
        (400, "the source does not build: the handler's check failed (exit status 1)\n"
              "Runtime.HandlerNotFound: public method 'Missing' is not in type Hello.Function\n")
    assert d.invoke("leaving", {"name": "still"}).json()["greeting"] == "Hello, still!"


def test_a_cold_start_claims_a_premade_csharp_sandbox(d):
    # Once a C# function has started, spares are made; /healthz counts the
    # ready ones (bounded wait: Mono's start plus the runtime's warm-up).
    d.create(name="first-cs", runtime="csharp", handler="Hello::Hello.Function::Handler", code=HELLO)
    assert d.invoke("first-cs", {"name": "1"}).status == 200
    deadline = time.monotonic() + 60
    while d.request("GET", "/healthz").json()["premade"]["csharp"] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert d.request("GET", "/healthz").json()["premade"]["csharp"] >= 1
    probe = HELLO.replace("context.FunctionName", "System.Environment.CurrentDirectory + \" \" + context.FunctionName"
                                                  " + \" \" + System.Environment.GetEnvironmentVariable(\"MINE\")")
    d.create(name="second-cs", runtime="csharp", handler="Hello::Hello.Function::Handler", code=probe,
             env={"MINE": "yes"}, memory_mb=160)
    r = d.invoke("second-cs", {"name": "2"})
    assert r.status == 200, r.body
    assert [i["premade"] for i in d.instances("second-cs")] == [True]
    assert r.json() == {"greeting": "Hello, 2!", "function": "/var/task second-cs yes", "memory": 160}


def test_awscli_creates_and_invokes_a_dotnet8_function_from_a_zip_of_source(d, tmp_path):
    from lambda_helpers import aws_create, aws_invoke
    z = tmp_path / "cs.zip"
    z.write_bytes(zip_bytes({"Function.cs": HELLO}))
    f = aws_create(d, "cscli", "dotnet8", "Hello::Hello.Function::Handler", z)
    assert (f["Runtime"], f["Handler"], f["State"]) == ("dotnet8", "Hello::Hello.Function::Handler", "Active")
    meta, payload = aws_invoke(d, "cscli", '{"name": "awscli"}', tmp_path / "out.json")
    assert meta["StatusCode"] == 200
    assert json.loads(payload) == {"greeting": "Hello, awscli!", "function": "cscli", "memory": 128}
