// A no-op Envoy ext_authz v3 server on grpc-go: Check answers OK at once with the same response
// shape as the grpc-js no-op (bench/noopCheckServerProcess.ts): status code 0 and an empty
// ok_response. The Go floor of an ext_authz gRPC server, for bench/run.ts. Prints {"port": N} once
// bound to 127.0.0.1 and stops on SIGTERM.
package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
)

type noop struct {
	authv3.UnimplementedAuthorizationServer
}

// One response for every call, as the grpc-js no-op answers one constant object.
var okResponse = &authv3.CheckResponse{
	Status:       &status.Status{Code: 0},
	HttpResponse: &authv3.CheckResponse_OkResponse{OkResponse: &authv3.OkHttpResponse{}},
}

func (noop) Check(context.Context, *authv3.CheckRequest) (*authv3.CheckResponse, error) {
	return okResponse, nil
}

func main() {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintf(os.Stderr, "noop go check server: %v\n", err)
		os.Exit(1)
	}
	// The same limits as the grpc-js servers: 1 MiB messages, keepalive 60 s / 20 s.
	server := grpc.NewServer(
		grpc.MaxRecvMsgSize(1024*1024),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 60 * time.Second, Timeout: 20 * time.Second}),
	)
	authv3.RegisterAuthorizationServer(server, noop{})
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-stop
		server.Stop()
	}()
	fmt.Printf("{\"port\":%d}\n", listener.Addr().(*net.TCPAddr).Port)
	if err := server.Serve(listener); err != nil {
		fmt.Fprintf(os.Stderr, "noop go check server: %v\n", err)
		os.Exit(1)
	}
}
