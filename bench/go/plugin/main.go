// Bench plugin: a Go go-plugin plugin (Debian's go-plugin 1.0.1) serving the
// driverplug DriverService (Probe and GetState, with the same constant
// answers as the bare grpc-js server): the Go-native reference for the Go
// bench host.
package main

import (
	"context"

	"driverplug/driverv1"

	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
)

type driverPlugin struct {
	plugin.NetRPCUnsupportedPlugin
}

func (driverPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	driverv1.RegisterDriverServiceServer(s, &noMachine{})
	return nil
}

func (driverPlugin) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (interface{}, error) {
	return nil, nil
}

// noMachine answers Probe and GetState as the fake driver does before any
// machine exists; every other method is UNIMPLEMENTED.
type noMachine struct {
	driverv1.UnimplementedDriverServiceServer
}

func (*noMachine) Probe(context.Context, *driverv1.ProbeRequest) (*driverv1.ProbeResponse, error) {
	return &driverv1.ProbeResponse{Ready: true}, nil
}

func (*noMachine) GetState(context.Context, *driverv1.GetStateRequest) (*driverv1.GetStateResponse, error) {
	return &driverv1.GetStateResponse{State: driverv1.State_STATE_NONE_UNSPECIFIED}, nil
}

func main() {
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: plugin.HandshakeConfig{
			ProtocolVersion:  1,
			MagicCookieKey:   "DRIVERPLUG_PLUGIN",
			MagicCookieValue: "machine-driver",
		},
		Plugins:    plugin.PluginSet{"driver": driverPlugin{}},
		GRPCServer: plugin.DefaultGRPCServer,
	})
}
