// Interop host: launches a driverplug driver plugin through HashiCorp
// go-plugin (the Debian 1.0.1 package), drives a whole machine lifecycle over
// the generated DriverService client and prints one JSON summary line on
// stdout for the vitest interop tests to assert on.
//
// It exists to prove that a plugin written for driverplug (in any language)
// is a valid go-plugin gRPC plugin as seen by go-plugin's own client code.
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
	"strings"
	"sync"
	"time"

	"driverplug/driverv1"

	hclog "github.com/hashicorp/go-hclog"
	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// driverplug's default magic cookie and the app version it speaks.
var handshake = plugin.HandshakeConfig{
	ProtocolVersion:  1,
	MagicCookieKey:   "DRIVERPLUG_PLUGIN",
	MagicCookieValue: "machine-driver",
}

const pluginName = "driver"

// driverPlugin is the client half of go-plugin's GRPCPlugin: the host never
// serves a driver, so GRPCServer refuses.
type driverPlugin struct {
	plugin.NetRPCUnsupportedPlugin
}

func (driverPlugin) GRPCServer(*plugin.GRPCBroker, *grpc.Server) error {
	return errors.New("the interop host only consumes drivers; it cannot serve one")
}

func (driverPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, conn *grpc.ClientConn) (interface{}, error) {
	return driverv1.NewDriverServiceClient(conn), nil
}

// summary is the JSON line the vitest test reads.
type summary struct {
	OK                bool              `json:"ok"`
	Error             string            `json:"error,omitempty"`
	AutoMTLS          bool              `json:"autoMTLS"`
	NegotiatedVersion int               `json:"negotiatedVersion"`
	Protocol          string            `json:"protocol"`
	Network           string            `json:"network"`
	SocketPath        string            `json:"socketPath"`
	LaunchMs          float64           `json:"launchMs"`
	Ping              bool              `json:"ping"`
	DriverName        string            `json:"driverName"`
	CreateProgress    []uint32          `json:"createProgress"`
	StartProgress     []uint32          `json:"startProgress"`
	States            []string          `json:"states"`
	Watched           []string          `json:"watched"`
	IP                string            `json:"ip"`
	ErrorCodes        map[string]string `json:"errorCodes"`
	KillMs            float64           `json:"killMs"`
	Exited            bool              `json:"exited"`
	SocketGone        bool              `json:"socketGone"`
	PluginLogLevels   map[string]int    `json:"pluginLogLevels"`
}

func main() {
	pluginPath := flag.String("plugin", "", "plugin executable to launch")
	store := flag.String("store", "", "absolute directory the driver keeps its machine in")
	autoMTLS := flag.Bool("automtls", false, "let go-plugin negotiate mutual TLS with the plugin")
	traceparent := flag.String("traceparent", "", "a W3C traceparent every lifecycle call carries in its metadata")
	flag.Parse()
	if *pluginPath == "" || *store == "" {
		fmt.Fprintln(os.Stderr, "usage: interop-host -plugin <executable> -store <abs dir> [-automtls] [-traceparent <w3c value>]")
		os.Exit(2)
	}

	s := &summary{AutoMTLS: *autoMTLS, ErrorCodes: map[string]string{}}
	logs := &levelCounter{counts: map[string]int{}}
	err := run(*pluginPath, *store, *autoMTLS, *traceparent, s, logs)
	s.PluginLogLevels = logs.snapshot()
	if err != nil {
		s.Error = err.Error()
	} else {
		s.OK = true
	}
	line, _ := json.Marshal(s)
	fmt.Println(string(line))
	if err != nil {
		os.Exit(1)
	}
}

func run(pluginPath, store string, autoMTLS bool, traceparent string, s *summary, logs *levelCounter) error {
	logger := hclog.New(&hclog.LoggerOptions{
		Name:       "interop-host",
		Level:      hclog.Trace,
		Output:     io.MultiWriter(os.Stderr, logs),
		JSONFormat: true,
	})
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  handshake,
		Plugins:          plugin.PluginSet{pluginName: driverPlugin{}},
		Cmd:              exec.Command(pluginPath),
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           logger,
		AutoMTLS:         autoMTLS,
		StartTimeout:     20 * time.Second,
	})
	killed := false
	defer func() {
		if !killed {
			client.Kill()
		}
	}()

	started := time.Now()
	rpcClient, err := client.Client()
	if err != nil {
		return fmt.Errorf("launching the plugin: %w", err)
	}
	addr := client.ReattachConfig().Addr
	s.Network, s.SocketPath = addr.Network(), addr.String()
	s.NegotiatedVersion = client.NegotiatedVersion()
	s.Protocol = string(client.Protocol())
	if err := rpcClient.Ping(); err != nil {
		return fmt.Errorf("health check of service \"plugin\": %w", err)
	}
	s.Ping = true
	s.LaunchMs = msSince(started)

	raw, err := rpcClient.Dispense(pluginName)
	if err != nil {
		return fmt.Errorf("dispensing the driver: %w", err)
	}
	if err := lifecycle(raw.(driverv1.DriverServiceClient), store, traceparent, s); err != nil {
		return err
	}

	killStarted := time.Now()
	client.Kill()
	killed = true
	s.KillMs = msSince(killStarted)
	s.Exited = client.Exited()
	if _, err := os.Lstat(s.SocketPath); errors.Is(err, os.ErrNotExist) {
		s.SocketGone = true
	}
	return nil
}

// lifecycle drives one machine from nothing to running and back to nothing,
// checking the status codes the contract promises on the way.
func lifecycle(d driverv1.DriverServiceClient, store, traceparent string, s *summary) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if traceparent != "" {
		// As an OpenTelemetry-instrumented Go host would send it.
		ctx = metadata.AppendToOutgoingContext(ctx, "traceparent", traceparent)
	}

	info, err := d.GetInfo(ctx, &driverv1.GetInfoRequest{})
	if err != nil {
		return fmt.Errorf("GetInfo: %w", err)
	}
	s.DriverName = info.DriverName

	_, err = d.SetConfig(ctx, &driverv1.SetConfigRequest{ConfigJson: []byte("{not json")})
	s.ErrorCodes["setConfigBadJSON"] = codeName(err)

	config, _ := json.Marshal(map[string]interface{}{
		"machineName": "m1", "storePath": store, "cpus": 2, "memoryMiB": 2048,
		"diskGiB": 20, "networks": []string{"default"}, "stepDelayMs": 0,
	})
	if _, err := d.SetConfig(ctx, &driverv1.SetConfigRequest{ConfigJson: config}); err != nil {
		return fmt.Errorf("SetConfig: %w", err)
	}
	if err := recordState(ctx, d, s); err != nil {
		return err
	}
	_, err = d.GetIP(ctx, &driverv1.GetIPRequest{})
	s.ErrorCodes["getIPBeforeCreate"] = codeName(err)

	create, err := d.Create(ctx, &driverv1.CreateRequest{})
	if err != nil {
		return fmt.Errorf("Create: %w", err)
	}
	if s.CreateProgress, err = drainProgress(create.Recv); err != nil {
		return fmt.Errorf("Create stream: %w", err)
	}
	if err := recordState(ctx, d, s); err != nil {
		return err
	}
	again, err := d.Create(ctx, &driverv1.CreateRequest{})
	if err == nil {
		_, err = drainProgress(again.Recv)
	}
	s.ErrorCodes["createTwice"] = codeName(err)

	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	watch, err := d.WatchState(watchCtx, &driverv1.WatchStateRequest{})
	if err != nil {
		return fmt.Errorf("WatchState: %w", err)
	}
	first, err := watch.Recv()
	if err != nil {
		return fmt.Errorf("WatchState first message: %w", err)
	}
	s.Watched = append(s.Watched, first.State.String())
	watched := watchUntil(watch, driverv1.State_STATE_RUNNING)

	start, err := d.Start(ctx, &driverv1.StartRequest{})
	if err != nil {
		return fmt.Errorf("Start: %w", err)
	}
	if s.StartProgress, err = drainProgress(start.Recv); err != nil {
		return fmt.Errorf("Start stream: %w", err)
	}
	if err := recordState(ctx, d, s); err != nil {
		return err
	}
	select {
	case states := <-watched:
		s.Watched = append(s.Watched, states...)
	case <-time.After(5 * time.Second):
		return errors.New("WatchState showed no change to RUNNING within 5 s of Start")
	}
	stopWatch()

	ip, err := d.GetIP(ctx, &driverv1.GetIPRequest{})
	if err != nil {
		return fmt.Errorf("GetIP: %w", err)
	}
	s.IP = ip.Ip

	if _, err := d.Stop(ctx, &driverv1.StopRequest{}); err != nil {
		return fmt.Errorf("Stop: %w", err)
	}
	if err := recordState(ctx, d, s); err != nil {
		return err
	}
	_, err = d.GetIP(ctx, &driverv1.GetIPRequest{})
	s.ErrorCodes["getIPWhileStopped"] = codeName(err)

	if _, err := d.Remove(ctx, &driverv1.RemoveRequest{}); err != nil {
		return fmt.Errorf("Remove: %w", err)
	}
	return recordState(ctx, d, s)
}

func recordState(ctx context.Context, d driverv1.DriverServiceClient, s *summary) error {
	st, err := d.GetState(ctx, &driverv1.GetStateRequest{})
	if err != nil {
		return fmt.Errorf("GetState: %w", err)
	}
	s.States = append(s.States, st.State.String())
	return nil
}

// watchUntil collects the states a WatchState stream reports until it
// reports want; the channel gets them once want is seen.
func watchUntil(watch driverv1.DriverService_WatchStateClient, want driverv1.State) <-chan []string {
	out := make(chan []string, 1)
	go func() {
		var seen []string
		for {
			msg, err := watch.Recv()
			if err != nil {
				return
			}
			seen = append(seen, msg.State.String())
			if msg.State == want {
				out <- seen
				return
			}
		}
	}()
	return out
}

// progressMessage is what Create and Start stream.
type progressMessage interface {
	GetProgress() *driverv1.Progress
}

func drainProgress[M progressMessage](recv func() (M, error)) ([]uint32, error) {
	var percents []uint32
	for {
		msg, err := recv()
		if err == io.EOF {
			return percents, nil
		}
		if err != nil {
			return percents, err
		}
		percents = append(percents, msg.GetProgress().GetPercent())
	}
}

// codeName is the canonical gRPC name of err's status code ("OK" for nil),
// as the proto comments and the other hosts spell it: NOT_FOUND, not NotFound.
func codeName(err error) string {
	code := status.Code(err)
	if name, ok := canonicalCodeNames[code]; ok {
		return name
	}
	return code.String()
}

var canonicalCodeNames = map[codes.Code]string{
	codes.OK: "OK", codes.Canceled: "CANCELLED", codes.Unknown: "UNKNOWN",
	codes.InvalidArgument: "INVALID_ARGUMENT", codes.DeadlineExceeded: "DEADLINE_EXCEEDED",
	codes.NotFound: "NOT_FOUND", codes.AlreadyExists: "ALREADY_EXISTS",
	codes.PermissionDenied: "PERMISSION_DENIED", codes.ResourceExhausted: "RESOURCE_EXHAUSTED",
	codes.FailedPrecondition: "FAILED_PRECONDITION", codes.Aborted: "ABORTED",
	codes.OutOfRange: "OUT_OF_RANGE", codes.Unimplemented: "UNIMPLEMENTED",
	codes.Internal: "INTERNAL", codes.Unavailable: "UNAVAILABLE", codes.DataLoss: "DATA_LOSS",
	codes.Unauthenticated: "UNAUTHENTICATED",
}

func msSince(t time.Time) float64 {
	return float64(time.Since(t).Microseconds()) / 1000
}

// levelCounter counts, by level, the plugin's stderr JSON log lines that
// go-plugin parsed and re-logged at their own level.
type levelCounter struct {
	mu      sync.Mutex
	partial []byte
	counts  map[string]int
}

func (l *levelCounter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	for {
		i := strings.IndexByte(string(l.partial), '\n')
		if i < 0 {
			return len(p), nil
		}
		l.count(l.partial[:i])
		l.partial = l.partial[i+1:]
	}
}

func (l *levelCounter) count(line []byte) {
	var rec map[string]interface{}
	if json.Unmarshal(line, &rec) != nil {
		return
	}
	// go-plugin re-logs a plugin's JSON line with the line's own fields plus
	// a "timestamp" field it adds from the parsed @timestamp; lines it could
	// not parse are logged as plain debug text without one.
	if _, parsed := rec["timestamp"]; !parsed {
		return
	}
	level, _ := rec["@level"].(string)
	l.counts[level]++
}

func (l *levelCounter) snapshot() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]int{}
	for k, v := range l.counts {
		out[k] = v
	}
	return out
}
