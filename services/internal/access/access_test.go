package access

import (
	"context"
	"fmt"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"

	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	reportingv1 "github.com/redress/redress/proto/redress/reporting/v1"
)

// Every RPC of every service must declare its permission: a new RPC without
// an entry fails here before it can ship.
func TestEveryRPCDeclaresAPermission(t *testing.T) {
	files := []protoreflect.FileDescriptor{intakev1.File_redress_intake_v1_intake_proto,
		reportingv1.File_redress_reporting_v1_reporting_proto}
	n := 0
	for _, f := range files {
		for i := 0; i < f.Services().Len(); i++ {
			svc := f.Services().Get(i)
			for j := 0; j < svc.Methods().Len(); j++ {
				full := fmt.Sprintf("/%s/%s", svc.FullName(), svc.Methods().Get(j).Name())
				perm, ok := Table[full]
				if !ok || perm == "" {
					t.Errorf("%s declares no permission", full)
				}
				if perm == Public {
					t.Errorf("%s is public: only health and reflection may be", full)
				}
				n++
			}
		}
	}
	if n == 0 {
		t.Fatal("no RPCs found")
	}
}

func TestUndeclaredRPCIsRefused(t *testing.T) {
	called := false
	_, err := UnaryInterceptor(context.Background(), nil, &grpc.UnaryServerInfo{FullMethod: "/redress.x.v1.X/Sneaky"},
		func(ctx context.Context, req any) (any, error) { called = true; return nil, nil })
	if status.Code(err) != codes.PermissionDenied || called {
		t.Fatalf("undeclared RPC: %v (handler called: %v)", err, called)
	}
}

func TestActorFromMetadata(t *testing.T) {
	method := "/redress.intake.v1.IntakeService/GetCase"
	run := func(md metadata.MD) (string, error) {
		var actor string
		ctx := metadata.NewIncomingContext(context.Background(), md)
		_, err := UnaryInterceptor(ctx, nil, &grpc.UnaryServerInfo{FullMethod: method},
			func(ctx context.Context, req any) (any, error) { actor = Actor(ctx); return nil, nil })
		return actor, err
	}
	if a, err := run(metadata.Pairs("x-redress-actor", "agent.li")); err != nil || a != "agent.li" {
		t.Fatalf("actor = %q, %v", a, err)
	}
	if _, err := run(metadata.Pairs("x-redress-actor", "bad actor\n")); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("malformed actor: %v", err)
	}
}
