module github.com/hearth-go/hearth

go 1.25.0

require (
	github.com/philippgille/chromem-go v0.7.0
	go.etcd.io/bbolt v1.5.0
	golang.org/x/net v0.44.0
	rsc.io/pdf v0.1.1
)

require golang.org/x/sys v0.45.0 // indirect
