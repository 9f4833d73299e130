// loadgen: the streaming bench's harness (`model`: the fake OpenAI-compatible server;
// `load`: the WebSocket load client). See bench/stream-bench.ts.
package main

import (
	"crypto/rand"
	"flag"
	"fmt"
	"os"
)

func uuid() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, errUsage)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "model":
		fs := flag.NewFlagSet("model", flag.ExitOnError)
		epoch := fs.Int64("epoch", 0, "ms since the Unix epoch that token stamps count from")
		tokens := fs.Int("tokens", 300, "tokens per answer unless the question asks")
		rate := fs.Int("rate", 30, "tokens per second unless the question asks")
		_ = fs.Parse(os.Args[2:])
		err = runModel(*epoch, *tokens, *rate)
	case "load":
		err = runLoad()
	default:
		err = errUsage
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}
