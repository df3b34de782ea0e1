module github.com/tracetriage/tracetriage

go 1.26

require (
	github.com/goccy/go-yaml v1.19.2
	github.com/klauspost/compress v1.20.4
	github.com/tidwall/gjson v1.20.2
	github.com/yuin/goldmark v1.8.7
)

require (
	github.com/tidwall/match v1.1.1 // indirect
	github.com/tidwall/pretty v1.3.0 // indirect
)
