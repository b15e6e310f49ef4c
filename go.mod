module github.com/hearth-go/hearth

go 1.24
