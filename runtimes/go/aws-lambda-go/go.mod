// Impuls's own Go runtime for Lambda handlers, written here with the API of
// aws-lambda-go's lambda.Start and lambdacontext, so that programs written
// for that module build against it unchanged (the daemon's Go build points
// the module path here with a replace directive; no module proxy is needed).
module github.com/aws/aws-lambda-go

go 1.19
