// The handler the Go benchmark runs (runtime go, built by the daemon): the
// same answer as hello.js and the native bootstrap.
package main

import "context"

func Handler(ctx context.Context, event map[string]interface{}) (map[string]interface{}, error) {
	return map[string]interface{}{"statusCode": 200, "body": "Hello from Impuls!"}, nil
}
