// Command load sends RunFunction requests at a fixed rate, open loop: each request is due at its
// slot whether or not earlier ones were answered, and its latency counts from that slot, so a
// server that falls behind shows it (ghz, closed loop, would wait and hide it). Requests are
// protobuf bytes written beforehand, sent as they are, so the client's own cost stays small. It
// prints one JSON report: latency percentiles of light requests, and of heavy ones if mixed in.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// raw passes already encoded messages through, and keeps the responses' bytes.
type raw struct{}

func (raw) Marshal(v any) ([]byte, error)      { return *v.(*[]byte), nil }
func (raw) Unmarshal(data []byte, v any) error { *v.(*[]byte) = data; return nil }
func (raw) Name() string                       { return "proto" }

type summary struct {
	Count int     `json:"count"`
	P50Ms float64 `json:"p50Ms"`
	P99Ms float64 `json:"p99Ms"`
	MaxMs float64 `json:"maxMs"`
}

func summarize(latencies []time.Duration) *summary {
	if len(latencies) == 0 {
		return nil
	}
	slices.Sort(latencies)
	at := func(p float64) float64 {
		return float64(latencies[int(p*float64(len(latencies)-1))]) / 1e6
	}
	return &summary{Count: len(latencies), P50Ms: at(0.5), P99Ms: at(0.99), MaxMs: at(1)}
}

func main() {
	address := flag.String("address", "127.0.0.1:9443", "the function's address")
	rate := flag.Float64("rate", 500, "requests per second")
	duration := flag.Duration("duration", 10*time.Second, "how long to send")
	lightFile := flag.String("light", "", "the light request, protobuf bytes")
	heavyFile := flag.String("heavy", "", "the heavy request, protobuf bytes")
	heavyShare := flag.Float64("heavy-share", 0, "the share of heavy requests, 0 to 1")
	flag.Parse()

	light, err := os.ReadFile(*lightFile)
	if err != nil {
		log.Fatal(err)
	}
	var heavy []byte
	if *heavyShare > 0 {
		if heavy, err = os.ReadFile(*heavyFile); err != nil {
			log.Fatal(err)
		}
	}
	conn, err := grpc.NewClient(*address, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.ForceCodec(raw{}), grpc.MaxCallRecvMsgSize(64<<20)))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	call := func(req []byte) error {
		var rsp []byte
		return conn.Invoke(context.Background(), "/apiextensions.fn.proto.v1.FunctionRunnerService/RunFunction", &req, &rsp)
	}
	if err := call(light); err != nil { // connects before the clock starts
		log.Fatal(err)
	}

	var mu sync.Mutex
	var lightLatencies, heavyLatencies []time.Duration
	errors := 0
	var wg sync.WaitGroup
	interval := time.Duration(float64(time.Second) / *rate)
	total := int(duration.Seconds() * *rate)
	start := time.Now()
	for i := range total {
		due := start.Add(time.Duration(i) * interval)
		time.Sleep(time.Until(due))
		isHeavy := rand.Float64() < *heavyShare
		req := light
		if isHeavy {
			req = heavy
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := call(req)
			latency := time.Since(due)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				errors++
			case isHeavy:
				heavyLatencies = append(heavyLatencies, latency)
			default:
				lightLatencies = append(lightLatencies, latency)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	out, _ := json.Marshal(map[string]any{
		"rate":   float64(total) / elapsed.Seconds(),
		"light":  summarize(lightLatencies),
		"heavy":  summarize(heavyLatencies),
		"errors": errors,
	})
	fmt.Println(string(out))
}
