module github.com/redress/redress/workflows

go 1.26.10

require github.com/redress/redress/proto v0.0.0

require (
	github.com/stretchr/testify v1.12.1
	go.temporal.io/api v1.63.5 // indirect
	go.temporal.io/sdk v1.50.0 // indirect
)

replace github.com/redress/redress/proto => ../proto
