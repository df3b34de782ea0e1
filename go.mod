module github.com/tracetriage/tracetriage

go 1.26
