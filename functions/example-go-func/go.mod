module example-go-func

go 1.19
