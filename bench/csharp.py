"""C# handlers on Mono (runtime csharp, bench/ref/Hello.cs, built by the
daemon once: every cold-start function reuses the build): the cold start
with a pre-made sandbox ready, beside `mono` running an empty Main
(bench/ref/Empty.cs), through bench.py's `cold`; and warm req/s and p50 at
one connection beside a bare C# HttpListener server running the same
handler (bench/ref/cs_server.cs), alternating. The references are compiled
here with mcs against the runtime's own Amazon.Lambda.Core (make build)."""
import os
import shutil
import subprocess
import tempfile

import load
import refs

HERE = os.path.dirname(os.path.abspath(__file__))
REF = os.path.join(HERE, "ref")
CORE = os.path.join(HERE, "..", "runtimes", "csharp", "lib", "Amazon.Lambda.Core.dll")
HANDLER = "Hello::Hello.Function::Handler"


def compile_refs(tmp):
    """Empty.exe and cs_server.exe (with Hello.cs and the runtime's
    Amazon.Lambda.Core.dll beside it) in tmp."""
    shutil.copy(CORE, tmp)
    core = os.path.join(tmp, "Amazon.Lambda.Core.dll")
    for args in (["-out:" + os.path.join(tmp, "Empty.exe"), os.path.join(REF, "Empty.cs")],
                 ["-out:" + os.path.join(tmp, "cs_server.exe"), "-r:" + core, "-r:System.Net",
                  os.path.join(REF, "cs_server.cs"), os.path.join(REF, "Hello.cs")]):
        subprocess.run(["mcs", "-nologo", "-optimize+", *args], check=True, capture_output=True, timeout=120)


def run(daemon, results, cold):
    with open(os.path.join(REF, "Hello.cs")) as f:
        code = f.read()
    tmp = tempfile.mkdtemp(prefix="impuls-bench-csharp-")
    try:
        compile_refs(tmp)
        cold(daemon, "csharp", "csharp", code, HANDLER, ["/usr/bin/mono", os.path.join(tmp, "Empty.exe")])
        daemon.create(name="bench-csharp", runtime="csharp", handler=HANDLER, code=code)
        r = daemon.invoke("bench-csharp", {})
        if r.status != 200 or r.body != b"Hello from Impuls!":
            raise RuntimeError(f"bench-csharp: {r}")
        port = refs.free_port()
        with refs.Server("csharp", ["/usr/bin/mono", os.path.join(tmp, "cs_server.exe"), str(port)], port,
                         cwd=tmp) as srv:
            urls = {"impuls": f"{daemon.url}/api/v1/functions/bench-csharp/invoke", "bare": srv.url}
            for url in urls.values():
                load.warmup(url, 1)  # the JIT's first compilations, on both sides
            warm = {"impuls": [], "bare": []}
            for _ in range(2):  # alternating: drift on the machine hits both
                for k, url in urls.items():
                    warm[k].append(load.run(url, 1))
        best = {k: max(v, key=lambda x: x[0]) for k, v in warm.items()}
        results["warm_csharp"] = {"impuls_rps": best["impuls"][0], "bare_rps": best["bare"][0],
                                  "impuls_p50_ms": best["impuls"][1]["50"], "bare_p50_ms": best["bare"][1]["50"]}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def rows(results, line):
    w = results.get("warm_csharp")
    if not w:
        return []
    return [
        line("warm csharp req/s c1", w["impuls_rps"], w["bare_rps"], w["impuls_rps"] / w["bare_rps"], ".0f",
             "   (reference: a bare C# HttpListener server on Mono, the same handler)"),
        line("warm csharp p50 ms c1", w["impuls_p50_ms"], w["bare_p50_ms"], w["impuls_p50_ms"] / w["bare_p50_ms"],
             ".3f"),
    ]
