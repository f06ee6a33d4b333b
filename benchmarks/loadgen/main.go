// Command loadgen sends KServe-shaped CloudEvents (binary mode, a request and a response per
// inference, as KServe's agent does) to a payload-log collector from many concurrent senders,
// and reports how many were acknowledged and how long each acknowledgement took, as JSON.
//
// An event that goes unanswered (a refused connection, a reset, a 5xx) is sent again until it
// is acknowledged, as a retrying sender would: the collector must write it once.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

type report struct {
	Pairs        int     `json:"pairs"`
	Acknowledged int64   `json:"acknowledged_events"`
	Retries      int64   `json:"retries"`
	Seconds      float64 `json:"seconds"`
	PairsPerSec  float64 `json:"pairs_per_second"`
	P50Millis    float64 `json:"p50_ms"`
	P99Millis    float64 `json:"p99_ms"`
	MaxMillis    float64 `json:"max_ms"`
	FirstRetryAt float64 `json:"first_retry_at_seconds"`
}

func headers(id, kind string) http.Header {
	h := http.Header{}
	h.Set("Ce-Specversion", "1.0")
	h.Set("Ce-Id", id)
	h.Set("Ce-Type", "org.kubeflow.serving.inference."+kind)
	h.Set("Ce-Source", "http://localhost:9081/")
	h.Set("Ce-Inferenceservicename", "credit-risk")
	h.Set("Ce-Namespace", "ml")
	h.Set("Ce-Component", "predictor")
	h.Set("Ce-Endpoint", "")
	h.Set("Ce-Time", time.Now().UTC().Format(time.RFC3339Nano))
	h.Set("Content-Type", "application/json")
	return h
}

func main() {
	url := flag.String("url", "http://127.0.0.1:8080/", "the collector")
	pairs := flag.Int("pairs", 100000, "inferences to send (two events each)")
	senders := flag.Int("senders", 64, "concurrent senders, each with its own keep-alive connection")
	prefix := flag.String("prefix", "r", "the prefix of the event ids")
	flag.Parse()

	var next, acknowledged, retries int64
	var firstRetry atomic.Int64
	latencies := make([][]float64, *senders)
	start := time.Now()
	var wg sync.WaitGroup
	for s := 0; s < *senders; s++ {
		wg.Add(1)
		go func(s int) {
			defer wg.Done()
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}, Timeout: 30 * time.Second}
			random := rand.New(rand.NewSource(int64(s)))
			for {
				n := atomic.AddInt64(&next, 1) - 1
				if n >= int64(*pairs) {
					return
				}
				id := fmt.Sprintf("%s%d", *prefix, n)
				features := map[string]any{"age": 18 + random.Intn(60), "income": random.NormFloat64()*20000 + 50000, "region": []string{"north", "south", "east"}[random.Intn(3)]}
				p := random.Float64()
				request, _ := json.Marshal(map[string]any{"instances": []any{features}})
				response, _ := json.Marshal(map[string]any{"predictions": []any{[]float64{1 - p, p}}})
				for _, event := range []struct {
					kind string
					body []byte
				}{{"request", request}, {"response", response}} {
					for {
						sent := time.Now()
						req, _ := http.NewRequest(http.MethodPost, *url, bytes.NewReader(event.body))
						req.Header = headers(id, event.kind)
						resp, err := client.Do(req)
						if err == nil {
							io.Copy(io.Discard, resp.Body)
							resp.Body.Close()
							if resp.StatusCode == http.StatusOK {
								latencies[s] = append(latencies[s], float64(time.Since(sent).Microseconds())/1000)
								atomic.AddInt64(&acknowledged, 1)
								break
							}
							if resp.StatusCode < 500 {
								fmt.Fprintf(os.Stderr, "event %s %s refused: %d\n", id, event.kind, resp.StatusCode)
								os.Exit(1)
							}
						}
						atomic.AddInt64(&retries, 1)
						firstRetry.CompareAndSwap(0, int64(time.Since(start)))
						time.Sleep(20 * time.Millisecond)
					}
				}
			}
		}(s)
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	var all []float64
	for _, l := range latencies {
		all = append(all, l...)
	}
	sort.Float64s(all)
	at := func(q float64) float64 {
		if len(all) == 0 {
			return 0
		}
		return all[int(q*float64(len(all)-1))]
	}
	json.NewEncoder(os.Stdout).Encode(report{
		Pairs: *pairs, Acknowledged: acknowledged, Retries: retries, Seconds: elapsed,
		PairsPerSec: float64(*pairs) / elapsed, P50Millis: at(0.5), P99Millis: at(0.99), MaxMillis: at(1),
		FirstRetryAt: time.Duration(firstRetry.Load()).Seconds(),
	})
}
