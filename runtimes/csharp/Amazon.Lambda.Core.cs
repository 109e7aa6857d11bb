// Amazon.Lambda.Core as a .NET Lambda handler sees it: ILambdaContext,
// ILambdaLogger, LambdaLogger, the serializer attribute and interface, with
// Amazon's names and members, written here (no NuGet), so that handlers
// written for Lambda compile unchanged with Mono's mcs (C# 7). Built by
// `make build` into lib/Amazon.Lambda.Core.dll; every C# function is compiled
// against it, and the runtime (Bootstrap.cs) hands handlers these types.
using System;
using System.Collections.Generic;
using System.IO;

namespace Amazon.Lambda.Core
{
    public interface ILambdaLogger
    {
        void Log(string message);
        void LogLine(string message);
        void LogTrace(string message);
        void LogDebug(string message);
        void LogInformation(string message);
        void LogWarning(string message);
        void LogError(string message);
        void LogCritical(string message);
    }

    public interface IClientApplication
    {
        string AppPackageName { get; }
        string AppTitle { get; }
        string AppVersionCode { get; }
        string AppVersionName { get; }
        string InstallationId { get; }
    }

    public interface IClientContext
    {
        IDictionary<string, string> Environment { get; }
        IClientApplication Client { get; }
        IDictionary<string, string> Custom { get; }
    }

    public interface ICognitoIdentity
    {
        string IdentityId { get; }
        string IdentityPoolId { get; }
    }

    public interface ILambdaContext
    {
        string AwsRequestId { get; }
        IClientContext ClientContext { get; }
        string FunctionName { get; }
        string FunctionVersion { get; }
        ICognitoIdentity Identity { get; }
        string InvokedFunctionArn { get; }
        ILambdaLogger Logger { get; }
        string LogGroupName { get; }
        string LogStreamName { get; }
        int MemoryLimitInMB { get; }
        TimeSpan RemainingTime { get; }
    }

    public interface ILambdaSerializer
    {
        T Deserialize<T>(Stream requestStream);
        void Serialize<T>(T response, Stream responseStream);
    }

    // Names the serializer of a handler's input and output (on the assembly
    // or the method), as on Lambda; without one the runtime uses
    // DefaultLambdaJsonSerializer.
    [AttributeUsage(AttributeTargets.Assembly | AttributeTargets.Method)]
    public sealed class LambdaSerializerAttribute : Attribute
    {
        public LambdaSerializerAttribute(Type serializerType) { SerializerType = serializerType; }
        public Type SerializerType { get; set; }
    }

    // Writes to the function's log (stdout), as Lambda's does.
    public static class LambdaLogger
    {
        public static void Log(string message)
        {
            Console.Out.Write(message);
            Console.Out.Flush();
        }
    }
}

namespace Amazon.Lambda.Serialization.SystemTextJson
{
    using Amazon.Lambda.Core;
    using Impuls.Json;

    // Property names as declared (PascalCase stays PascalCase); input names
    // match case-insensitively.
    public class DefaultLambdaJsonSerializer : ILambdaSerializer
    {
        protected virtual bool CamelCase { get { return false; } }

        public T Deserialize<T>(Stream requestStream)
        {
            using (var reader = new StreamReader(requestStream))
                return (T)JsonCodec.Convert(JsonCodec.Parse(reader.ReadToEnd()), typeof(T));
        }

        public void Serialize<T>(T response, Stream responseStream)
        {
            var text = JsonCodec.Serialize(response, CamelCase);
            var bytes = new System.Text.UTF8Encoding(false).GetBytes(text);
            responseStream.Write(bytes, 0, bytes.Length);
        }
    }

    // Output names in camelCase (Amazon's CamelCaseLambdaJsonSerializer).
    public class CamelCaseLambdaJsonSerializer : DefaultLambdaJsonSerializer
    {
        protected override bool CamelCase { get { return true; } }
    }

    public class LambdaJsonSerializer : DefaultLambdaJsonSerializer
    {
    }
}

namespace Amazon.Lambda.Serialization.Json
{
    // The older Newtonsoft-based serializer's name; the same JSON here.
    public class JsonSerializer : Amazon.Lambda.Serialization.SystemTextJson.DefaultLambdaJsonSerializer
    {
    }
}
