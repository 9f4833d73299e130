// The load client of the streaming bench: M conversations, one receiving socket each, one
// message each; every token's latency from its emit time (written into the token by the
// fake model) to its arrival here, kept in a 0.1 ms histogram. Frames are inspected as
// bytes, not parsed: the client must not be what saturates the machine.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

type loadConfig struct {
	EpochMs   int64  `json:"epochMs"`
	Token     string `json:"token"`
	Question  string `json:"question"`
	Tokens    int    `json:"tokens"`
	SpreadMs  int    `json:"spreadMs"`
	TimeoutMs int    `json:"timeoutMs"`
	Convs     []struct {
		Recv string `json:"recv"`
		Send string `json:"send"`
	} `json:"convs"`
}

type loadResult struct {
	Delivered int64   `json:"delivered"`
	Expected  int64   `json:"expected"`
	Completed int64   `json:"completed"`
	Failed    int64   `json:"failed"`
	Closed    int64   `json:"closed"`
	P50       float64 `json:"p50"`
	P99       float64 `json:"p99"`
	P999      float64 `json:"p999"`
	Max       float64 `json:"max"`
	// the same for tokens emitted once every message has been sent plus a second: the
	// streams' steady state, without the run-start storm
	SteadyP99 *float64 `json:"steadyP99"` // null when no token was steady (a short run)
}

// 0.1 ms buckets up to 10 minutes; later arrivals land in the last one.
const buckets = 6_000_000

var (
	hist        = make([]uint32, buckets)
	steadyHist  = make([]uint32, buckets)
	steadyCount atomic.Int64
	// emit time (0.1 ms since the epoch) from which a token counts as steady; none until set
	steadyFrom                           atomic.Int64
	delivered, completed, failed, closed atomic.Int64
	prefixDelta                          = []byte(`{"type":"response.delta"`)
	prefixCompleted                      = []byte(`{"type":"response.completed"`)
	prefixFailed                         = []byte(`{"type":"run.failed"`)
	prefixPing                           = []byte(`{"type":"ping"`)
	prefixReady                          = []byte(`{"type":"ready"`)
	prefixAck                            = []byte(`{"type":"ack"`)
)

type conn struct {
	ws *websocket.Conn
	mu sync.Mutex
}

func (c *conn) send(v []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ws.WriteMessage(websocket.TextMessage, v)
}

func pong(c *conn, frame []byte) {
	var p struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(frame, &p) == nil {
		out, _ := json.Marshal(map[string]string{"type": "pong", "id": p.ID})
		_ = c.send(out)
	}
}

// dial opens a socket and authenticates it; it returns once `ready` arrived.
func dial(url, token string) (*conn, error) {
	d := websocket.Dialer{HandshakeTimeout: 30 * time.Second, ReadBufferSize: 4096, WriteBufferSize: 1024}
	ws, resp, err := d.Dial(url, http.Header{})
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("%s: %w (HTTP %d)", url, err, resp.StatusCode)
		}
		return nil, err
	}
	c := &conn{ws: ws}
	auth, _ := json.Marshal(map[string]string{"type": "auth", "token": token})
	if err := c.send(auth); err != nil {
		return nil, err
	}
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			return nil, fmt.Errorf("closed before ready: %w", err)
		}
		if bytes.HasPrefix(data, prefixReady) {
			return c, nil
		}
		if bytes.HasPrefix(data, prefixPing) {
			pong(c, data)
		}
	}
}

// receive reads until the socket closes, recording every token mark of every delta.
func receive(c *conn, epoch time.Time, done func()) {
	buf := make([]byte, 0, 4096)
	for {
		_, r, err := c.ws.NextReader()
		if err != nil {
			closed.Add(1)
			done()
			return
		}
		buf = buf[:0]
		for {
			if len(buf) == cap(buf) {
				buf = append(buf, 0)[:len(buf)]
			}
			n, err := r.Read(buf[len(buf):cap(buf)])
			buf = buf[:len(buf)+n]
			if err == io.EOF {
				break
			}
			if err != nil {
				break
			}
		}
		switch {
		case bytes.HasPrefix(buf, prefixDelta):
			now := time.Since(epoch).Nanoseconds() / 100_000
			marks(buf, now)
		case bytes.HasPrefix(buf, prefixCompleted):
			completed.Add(1)
			done()
		case bytes.HasPrefix(buf, prefixFailed):
			failed.Add(1)
			done()
		case bytes.HasPrefix(buf, prefixPing):
			pong(c, buf)
		}
	}
}

func marks(frame []byte, now int64) {
	for i := 0; i < len(frame); i++ {
		if frame[i] != '~' {
			continue
		}
		v, n := readStamp(frame, i+1)
		j := i + 1 + n
		if n > 0 {
			lat := now - v
			if lat < 0 {
				lat = 0
			}
			if lat >= buckets {
				lat = buckets - 1
			}
			atomic.AddUint32(&hist[lat], 1)
			delivered.Add(1)
			if v >= steadyFrom.Load() {
				atomic.AddUint32(&steadyHist[lat], 1)
				steadyCount.Add(1)
			}
		}
		i = j - 1
	}
}

func quantile(hist []uint32, total int64, q float64) float64 {
	if total == 0 {
		return math.NaN()
	}
	want := int64(math.Ceil(q * float64(total)))
	var seen int64
	for i, n := range hist {
		seen += int64(n)
		if seen >= want {
			return float64(i) / 10
		}
	}
	return float64(buckets) / 10
}

func runLoad() error {
	var cfg loadConfig
	if err := json.NewDecoder(os.Stdin).Decode(&cfg); err != nil {
		return fmt.Errorf("reading the load config from stdin: %w", err)
	}
	epoch := time.UnixMilli(cfg.EpochMs)
	steadyFrom.Store(math.MaxInt64)
	m := len(cfg.Convs)
	var left sync.WaitGroup
	left.Add(m)
	receivers := make([]*conn, m)
	const width = 200
	for i := 0; i < m; i += width {
		var g sync.WaitGroup
		errs := make(chan error, width)
		for j := i; j < min(m, i+width); j++ {
			g.Add(1)
			go func(j int) {
				defer g.Done()
				c, err := dial(cfg.Convs[j].Recv, cfg.Token)
				if err != nil {
					errs <- err
					return
				}
				receivers[j] = c
			}(j)
		}
		g.Wait()
		close(errs)
		if err := <-errs; err != nil {
			return fmt.Errorf("opening receiving sockets: %w", err)
		}
	}
	for _, c := range receivers {
		var once sync.Once
		go receive(c, epoch, func() { once.Do(left.Done) })
	}
	t0 := time.Now()
	var senders sync.WaitGroup
	sendErrs := atomic.Int64{}
	var firstSendErr atomic.Value
	// Each conversation asks its own question, in this row and across rows, as users do: a
	// response cache misses (a hit would replay tokens stamped when they were first made).
	row := uuid()
	for i := 0; i < m; i++ {
		time.Sleep(time.Until(t0.Add(time.Duration(i) * time.Duration(cfg.SpreadMs) * time.Millisecond / time.Duration(m))))
		msg, _ := json.Marshal(map[string]string{"type": "message", "client_msg_id": uuid(), "content": fmt.Sprintf("%s (%s #%d)", cfg.Question, row, i)})
		if cfg.Convs[i].Send == "" {
			if err := receivers[i].send(msg); err != nil {
				sendErrs.Add(1)
			}
			continue
		}
		// The run goes to the replica that received the message; the sender leaves once it is
		// acknowledged, so only the receiving replica has a socket in the conversation.
		senders.Add(1)
		go func(url string) {
			defer senders.Done()
			c, err := dial(url, cfg.Token)
			if err == nil {
				err = c.send(msg)
			}
			for err == nil {
				var data []byte
				if _, data, err = c.ws.ReadMessage(); err == nil && bytes.HasPrefix(data, prefixAck) {
					break
				}
			}
			if err != nil {
				if sendErrs.Add(1) == 1 {
					firstSendErr.Store(err.Error())
				}
			}
			if c != nil {
				_ = c.ws.Close()
			}
		}(cfg.Convs[i].Send)
	}
	senders.Wait()
	steadyFrom.Store((time.Since(epoch) + time.Second).Nanoseconds() / 100_000)
	if n := sendErrs.Load(); n > 0 {
		first, _ := firstSendErr.Load().(string)
		fmt.Fprintf(os.Stderr, "  %d messages could not be sent (first: %s)\n", n, first)
	}
	all := make(chan struct{})
	go func() { left.Wait(); close(all) }()
	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
	deadline := time.After(time.Duration(cfg.TimeoutMs) * time.Millisecond)
wait:
	for {
		select {
		case <-all:
			break wait
		case <-deadline:
			break wait
		case <-tick.C:
			fmt.Fprintf(os.Stderr, "  … %d streams: %d tokens, %d completed, %d failed, %d closed\n", m, delivered.Load(), completed.Load(), failed.Load(), closed.Load())
		}
	}
	n := delivered.Load()
	res := loadResult{Delivered: n, Expected: int64(m) * int64(cfg.Tokens), Completed: completed.Load(), Failed: failed.Load(), Closed: closed.Load(),
		P50: quantile(hist, n, 0.50), P99: quantile(hist, n, 0.99), P999: quantile(hist, n, 0.999), Max: quantile(hist, n, 1),
	}
	if k := steadyCount.Load(); k > 0 {
		q := quantile(steadyHist, k, 0.99)
		res.SteadyP99 = &q
	}
	for _, c := range receivers {
		_ = c.ws.Close()
	}
	out, err := json.Marshal(res)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(os.Stdout, string(out))
	return err
}

var errUsage = errors.New("usage: loadgen model [-epoch ms] | loadgen load < config.json")
