// A Go plugin of the driverplug protocol written from docs/protocol.md with
// grpc-go alone (Debian's go-plugin 1.0.1 puts its socket in its own temp dir,
// not in the private PLUGIN_UNIX_SOCKET_DIR a driverplug host gives and
// checks): it listens there on a 0600 socket, prints the handshake line and
// serves DriverService. Its handlers report what their context carries:
// GetMachineName the deadline, Stop (which waits for its context to end) why
// the context ended, as a JSON log line on stderr; GetInfo the rpc option of
// its own method, read from the generated descriptor.
package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io/ioutil"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"driverplug/driverv1"

	"github.com/golang/protobuf/proto"
	descpb "github.com/golang/protobuf/protoc-gen-go/descriptor"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
)

type driver struct {
	driverv1.UnimplementedDriverServiceServer
}

func logLine(level, message string, fields map[string]string) {
	record := map[string]string{
		"@level":     level,
		"@message":   message,
		"@module":    "goplugin",
		"@timestamp": time.Now().UTC().Format("2006-01-02T15:04:05.000000Z07:00"),
	}
	for k, v := range fields {
		record[k] = v
	}
	line, _ := json.Marshal(record)
	fmt.Fprintln(os.Stderr, string(line))
}

func (*driver) GetMachineName(ctx context.Context, _ *driverv1.GetMachineNameRequest) (*driverv1.GetMachineNameResponse, error) {
	deadline, ok := ctx.Deadline()
	if !ok {
		return &driverv1.GetMachineNameResponse{Name: "no-deadline"}, nil
	}
	return &driverv1.GetMachineNameResponse{Name: fmt.Sprintf("deadline-in-ms=%d", time.Until(deadline).Milliseconds())}, nil
}

func (*driver) Stop(ctx context.Context, _ *driverv1.StopRequest) (*driverv1.StopResponse, error) {
	<-ctx.Done()
	logLine("info", "stop ended", map[string]string{"reason": ctx.Err().Error()})
	return nil, status.FromContextError(ctx.Err()).Err()
}

// GetInfo names, as its driver version, the (driverplug.driver.v1.rpc) option
// of DriverService.Kill as the Go stubs' embedded descriptor holds it.
func (*driver) GetInfo(context.Context, *driverv1.GetInfoRequest) (*driverv1.GetInfoResponse, error) {
	kill, err := killOptions()
	if err != nil {
		return nil, err
	}
	return &driverv1.GetInfoResponse{DriverName: "goplug", DriverVersion: kill, ApiVersions: []uint32{1}}, nil
}

func killOptions() (string, error) {
	file, err := fileDescriptor()
	if err != nil {
		return "", err
	}
	for _, service := range file.Service {
		for _, method := range service.Method {
			if method.GetName() != "Kill" {
				continue
			}
			ext, err := proto.GetExtension(method.Options, driverv1.E_Rpc)
			if err != nil {
				return "", err
			}
			o := ext.(*driverv1.RpcOptions)
			return fmt.Sprintf("mutating=%t preempts=%t long_running=%t required=%t idempotency=%s",
				o.Mutating, o.Preempts, o.LongRunning, o.Required, method.Options.GetIdempotencyLevel()), nil
		}
	}
	return "", fmt.Errorf("no Kill method in the descriptor")
}

// fileDescriptor decodes driver.proto's descriptor as the generated Go code registered it.
func fileDescriptor() (*descpb.FileDescriptorProto, error) {
	gz := proto.FileDescriptor("driverplug/driver/v1/driver.proto")
	return decompress(gz)
}

func main() {
	dir := os.Getenv("PLUGIN_UNIX_SOCKET_DIR")
	if dir == "" {
		fmt.Fprintln(os.Stderr, "PLUGIN_UNIX_SOCKET_DIR is not set: run this plugin through a driverplug host")
		os.Exit(1)
	}
	path := filepath.Join(dir, fmt.Sprintf("goplug-%d.sock", os.Getpid()))
	// 0600 from the start: no window with a wider mode.
	old := syscall.Umask(0o177)
	listener, err := net.Listen("unix", path)
	syscall.Umask(old)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	server := grpc.NewServer()
	driverv1.RegisterDriverServiceServer(server, &driver{})
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM)
	signal.Ignore(syscall.SIGINT)
	go func() {
		<-signals
		server.Stop()
	}()
	fmt.Printf("1|1|unix|%s|grpc|\n", path)
	_ = server.Serve(listener)
	os.Remove(path)
}

// decompress turns the gzipped descriptor protoc-gen-go registers into a message.
func decompress(gz []byte) (*descpb.FileDescriptorProto, error) {
	r, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, err
	}
	raw, err := ioutil.ReadAll(r)
	if err != nil {
		return nil, err
	}
	file := &descpb.FileDescriptorProto{}
	return file, proto.Unmarshal(raw, file)
}
