// The handler the C# benchmark runs (runtime csharp, built by the daemon;
// and in the bare HttpListener server): the same answer as hello.js.
using System.Collections.Generic;
using Amazon.Lambda.Core;

namespace Hello
{
    public class Function
    {
        public Dictionary<string, object> Handler(Dictionary<string, object> input, ILambdaContext context)
        {
            return new Dictionary<string, object> { { "statusCode", 200 }, { "body", "Hello from Impuls!" } };
        }
    }
}
