// Package lambda runs a Go handler behind the AWS Lambda Runtime API, with
// the API of aws-lambda-go's lambda package: lambda.Start(handler).
package lambda

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
)

const prefix = "/2018-06-01/runtime"

// Start takes a handler (see handlerFunc for its accepted shapes) and serves
// calls until the process is stopped. A handler of the wrong shape is
// reported as the function's init error.
func Start(handler interface{}) {
	api, err := dial(os.Getenv("AWS_LAMBDA_RUNTIME_API"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "impuls: cannot reach the Runtime API:", err)
		os.Exit(1)
	}
	h, err := newHandler(handler)
	if err != nil {
		api.post(prefix+"/init/error", "Runtime.InvalidEntrypoint", errorBody("Runtime.InvalidEntrypoint", err.Error(), nil))
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// Each outcome is posted with Impuls-Next: 1 and the daemon answers the
	// post with the next event (one exchange a call, docs/runtimes.md); a
	// refused post (4xx) is followed by a plain GET, as at the start.
	status, headers, payload := api.do("GET", prefix+"/invocation/next", "", nil)
	for {
		if status != 200 {
			status, headers, payload = api.do("GET", prefix+"/invocation/next", "", nil)
			if status != 200 {
				fmt.Fprintf(os.Stderr, "impuls: /invocation/next answered %d\n", status)
				os.Exit(1)
			}
		}
		id := headers["lambda-runtime-aws-request-id"]
		if trace := headers["lambda-runtime-trace-id"]; trace != "" {
			os.Setenv("_X_AMZN_TRACE_ID", trace)
		}
		deadline, _ := strconv.ParseInt(headers["lambda-runtime-deadline-ms"], 10, 64)
		ctx, cancel := context.WithDeadline(context.Background(), time.UnixMilli(deadline))
		ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{
			AwsRequestID:       id,
			InvokedFunctionArn: headers["lambda-runtime-invoked-function-arn"],
		})
		result, errType, errBody := call(ctx, h, payload)
		cancel()
		if errBody != nil {
			status, headers, payload = api.next(prefix+"/invocation/"+id+"/error", errType, errBody)
		} else {
			status, headers, payload = api.next(prefix+"/invocation/"+id+"/response", "", result)
		}
	}
}

// call runs one invocation; a panic is the call's error, with its stack.
func call(ctx context.Context, h handlerFunc, payload []byte) (result []byte, errType string, errBody []byte) {
	defer func() {
		if p := recover(); p != nil {
			trace := strings.Split(strings.TrimSpace(string(debug.Stack())), "\n")
			errType = typeName(p)
			errBody = errorBody(errType, fmt.Sprint(p), trace)
			fmt.Fprintf(os.Stderr, "panic: %v\n%s\n", p, strings.Join(trace, "\n"))
		}
	}()
	result, err := h(ctx, payload)
	if err != nil {
		errType = typeName(err)
		return nil, errType, errorBody(errType, err.Error(), nil)
	}
	return result, "", nil
}

// typeName names an error as aws-lambda-go does: its type without the
// package or pointer ("errorString", "MyError").
func typeName(v interface{}) string {
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Ptr {
		t = t.Elem()
	}
	if t.Name() == "" {
		return t.String()
	}
	return t.Name()
}

func errorBody(errType, message string, trace []string) []byte {
	if trace == nil {
		trace = []string{}
	}
	b, _ := json.Marshal(map[string]interface{}{"errorType": errType, "errorMessage": message, "stackTrace": trace})
	return b
}
