// Command coredns is CoreDNS with only the plugins the k8s test harness's cluster DNS uses
// (kubernetes, bind, errors, health, ready, cache, log). The upstream binary imports every plugin,
// including the cloud providers' SDKs, which would triple the build for nothing; each plugin
// registers itself in init, so importing a subset is how CoreDNS documents custom builds.
package main

import (
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/ready"
)

func main() {
	coremain.Run()
}
