module github.com/tracetriage/tracetriage

go 1.26

require (
	github.com/klauspost/compress v1.20.4 // indirect
	github.com/tidwall/gjson v1.20.2 // indirect
	github.com/tidwall/match v1.1.1 // indirect
	github.com/tidwall/pretty v1.3.0 // indirect
)
