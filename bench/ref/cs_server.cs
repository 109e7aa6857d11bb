// Reference: a bare C# HttpListener server (Mono) running the same handler
// in-process, its event read and its result taken as Impuls's C# runtime
// does (the same JSON codec). Usage: mono cs_server.exe PORT
using System;
using System.Collections.Generic;
using System.IO;
using System.Net;
using System.Text;
using Impuls.Json;

static class Server
{
    static void Main(string[] args)
    {
        var listener = new HttpListener();
        listener.Prefixes.Add("http://127.0.0.1:" + args[0] + "/");
        listener.Start();
        var handler = new Hello.Function();
        while (true) {
            var ctx = listener.GetContext();
            string raw;
            using (var reader = new StreamReader(ctx.Request.InputStream, Encoding.UTF8))
                raw = reader.ReadToEnd();
            var evt = (Dictionary<string, object>)JsonCodec.Parse(raw.Length > 0 ? raw : "{}");
            var r = handler.Handler(evt, null);
            var body = Encoding.UTF8.GetBytes((string)r["body"]);
            ctx.Response.StatusCode = (int)r["statusCode"];
            ctx.Response.ContentType = "text/plain; charset=utf-8";
            ctx.Response.ContentLength64 = body.Length;
            ctx.Response.OutputStream.Write(body, 0, body.Length);
            ctx.Response.Close();
        }
    }
}
