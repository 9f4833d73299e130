// The fake OpenAI-compatible model server of the streaming bench (and of the long-answer
// test): every POST …/chat/completions streams its tokens as SSE chunks at a steady rate.
// Each token is a word and its emit time (tenths of a millisecond since -epoch, after "~",
// see text.go), so a client measures emitted → received against the same machine clock. The last
// user message may ask for a length and rate ("tokens=4000 rate=100"). Written in Go so
// that the harness, not the servers under test, is the cheap part of the machine.
package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"time"
)

var (
	tokensRe = regexp.MustCompile(`tokens=(\d+)`)
	rateRe   = regexp.MustCompile(`rate=(\d+)`)
)

const chunkHead = `data: {"id":"b","object":"chat.completion.chunk","model":"bench","choices":[{"index":0,"delta":{"content":" `
const chunkTail = "\"}}]}\n\n"

func ask(body []byte, defTokens, defRate int) (int, int) {
	var req struct {
		Messages []struct {
			Role    string  `json:"role"`
			Content *string `json:"content"`
		} `json:"messages"`
	}
	text := ""
	if json.Unmarshal(body, &req) == nil {
		for _, m := range req.Messages {
			if m.Role == "user" && m.Content != nil {
				text = *m.Content
			}
		}
	}
	tokens, rate := defTokens, defRate
	if m := tokensRe.FindStringSubmatch(text); m != nil {
		tokens, _ = strconv.Atoi(m[1])
	}
	if m := rateRe.FindStringSubmatch(text); m != nil {
		rate, _ = strconv.Atoi(m[1])
	}
	return tokens, max(rate, 1)
}

func runModel(epochMs int64, defTokens, defRate int) error {
	epoch := time.UnixMilli(epochMs)
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		body := make([]byte, 0, 1024)
		buf := make([]byte, 4096)
		for {
			n, err := r.Body.Read(buf)
			body = append(body, buf[:n]...)
			if err != nil {
				break
			}
		}
		if r.Method != http.MethodPost || len(r.URL.Path) < 17 || r.URL.Path[len(r.URL.Path)-17:] != "/chat/completions" {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		tokens, rate := ask(body, defTokens, defRate)
		w.Header().Set("content-type", "text/event-stream")
		w.Header().Set("cache-control", "no-cache")
		w.WriteHeader(http.StatusOK)
		flusher := w.(http.Flusher)
		_, _ = w.Write([]byte(`data: {"id":"b","object":"chat.completion.chunk","model":"bench","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}` + "\n\n"))
		flusher.Flush()
		period := time.Second / time.Duration(rate)
		next := time.Now().Add(period)
		out := make([]byte, 0, 256)
		text := newWords(time.Now().UnixNano())
		for i := 0; i < tokens; i++ {
			time.Sleep(time.Until(next))
			next = next.Add(period)
			stamp := time.Since(epoch).Nanoseconds() / 100_000
			out = append(out[:0], chunkHead...)
			out = append(out, text.next()...)
			out = append(out, '~')
			out = appendStamp(out, stamp)
			out = append(out, chunkTail...)
			if _, err := w.Write(out); err != nil {
				return
			}
			flusher.Flush()
		}
		_, _ = fmt.Fprintf(w, "data: {\"id\":\"b\",\"object\":\"chat.completion.chunk\",\"model\":\"bench\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"+
			"data: {\"id\":\"b\",\"object\":\"chat.completion.chunk\",\"model\":\"bench\",\"choices\":[],\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":%d}}\n\ndata: [DONE]\n\n", tokens)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stdout, "{\"port\":%d}\n", ln.Addr().(*net.TCPAddr).Port)
	srv := &http.Server{Handler: mux, IdleTimeout: 60 * time.Second}
	return srv.Serve(ln)
}
