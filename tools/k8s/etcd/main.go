// Command etcd is etcd's own server entry point, built from the go.etcd.io/etcd/server/v3
// module at the version k8s.io/kubernetes requires, for the k8s test harness.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
