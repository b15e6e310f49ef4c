module github.com/hearth-go/hearth

go 1.26.0

require (
	github.com/dslipak/pdf v0.0.2 // indirect
	github.com/philippgille/chromem-go v0.7.0 // indirect
	go.etcd.io/bbolt v1.5.0 // indirect
	golang.org/x/net v0.62.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
)
