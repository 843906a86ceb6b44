// Bench host: launches one driver plugin through HashiCorp go-plugin (the
// Debian 1.0.1 package), times spawn to the first successful Probe, sets the
// driver's config when given one, then times GetState one call at a time and
// prints one JSON line of figures.
// The Node bench runs it alternately against a driverplug plugin and a Go
// go-plugin plugin serving the same proto.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"time"

	"driverplug/driverv1"

	hclog "github.com/hashicorp/go-hclog"
	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
)

var handshake = plugin.HandshakeConfig{
	ProtocolVersion:  1,
	MagicCookieKey:   "DRIVERPLUG_PLUGIN",
	MagicCookieValue: "machine-driver",
}

type driverPlugin struct {
	plugin.NetRPCUnsupportedPlugin
}

func (driverPlugin) GRPCServer(*plugin.GRPCBroker, *grpc.Server) error {
	return errors.New("the bench host only consumes drivers")
}

func (driverPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, conn *grpc.ClientConn) (interface{}, error) {
	return driverv1.NewDriverServiceClient(conn), nil
}

type figures struct {
	StartupMs float64 `json:"startupMs"`
	P50Us     float64 `json:"p50Us"`
	P99Us     float64 `json:"p99Us"`
	Rate      float64 `json:"rate"`
}

func main() {
	pluginPath := flag.String("plugin", "", "plugin executable to launch")
	calls := flag.Int("calls", 2000, "GetState calls to time, one at a time")
	warm := flag.Int("warm", 300, "untimed GetState calls before timing")
	config := flag.String("config", "", "config JSON to SetConfig before timing (drivers that need one)")
	flag.Parse()
	if *pluginPath == "" {
		fmt.Fprintln(os.Stderr, "usage: bench-host -plugin <executable> [-calls N] [-warm N] [-config JSON]")
		os.Exit(2)
	}
	f, err := run(*pluginPath, *calls, *warm, *config)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench host:", err)
		os.Exit(1)
	}
	line, _ := json.Marshal(f)
	fmt.Println(string(line))
}

func run(pluginPath string, calls, warm int, config string) (figures, error) {
	var f figures
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  handshake,
		Plugins:          plugin.PluginSet{"driver": driverPlugin{}},
		Cmd:              exec.Command(pluginPath),
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		// The plugin's log lines would cost the host time; the bench wants none.
		Logger:       hclog.New(&hclog.LoggerOptions{Output: io.Discard, Level: hclog.Error}),
		StartTimeout: 20 * time.Second,
	})
	defer client.Kill()

	started := time.Now()
	rpcClient, err := client.Client()
	if err != nil {
		return f, fmt.Errorf("launching %s: %w", pluginPath, err)
	}
	raw, err := rpcClient.Dispense("driver")
	if err != nil {
		return f, fmt.Errorf("dispensing the driver: %w", err)
	}
	driver := raw.(driverv1.DriverServiceClient)
	ctx := context.Background()
	if _, err := driver.Probe(ctx, &driverv1.ProbeRequest{}); err != nil {
		return f, fmt.Errorf("first Probe: %w", err)
	}
	f.StartupMs = float64(time.Since(started).Microseconds()) / 1000
	if config != "" {
		if _, err := driver.SetConfig(ctx, &driverv1.SetConfigRequest{ConfigJson: []byte(config)}); err != nil {
			return f, fmt.Errorf("SetConfig: %w", err)
		}
	}

	for i := 0; i < warm; i++ {
		if _, err := driver.GetState(ctx, &driverv1.GetStateRequest{}); err != nil {
			return f, fmt.Errorf("GetState: %w", err)
		}
	}
	latencies := make([]float64, calls)
	begin := time.Now()
	for i := range latencies {
		t0 := time.Now()
		if _, err := driver.GetState(ctx, &driverv1.GetStateRequest{}); err != nil {
			return f, fmt.Errorf("GetState: %w", err)
		}
		latencies[i] = float64(time.Since(t0).Nanoseconds()) / 1000
	}
	f.Rate = float64(calls) / time.Since(begin).Seconds()
	sort.Float64s(latencies)
	f.P50Us = rank(latencies, 0.5)
	f.P99Us = rank(latencies, 0.99)
	return f, nil
}

// rank is the nearest-rank quantile of sorted samples.
func rank(sorted []float64, q float64) float64 {
	i := int(float64(len(sorted))*q+0.999999) - 1
	if i < 0 {
		i = 0
	}
	if i >= len(sorted) {
		i = len(sorted) - 1
	}
	return sorted[i]
}
