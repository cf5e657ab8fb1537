package reports

import (
	"context"
	"errors"
	"io"

	"google.golang.org/grpc"

	reportingv1 "github.com/redress/redress/proto/redress/reporting/v1"
)

// chunkStream is either export stream on the client side.
type chunkStream[T interface{ GetChunk() *reportingv1.Chunk }] interface {
	Recv() (T, error)
}

// Receive copies a streamed file into w and answers its suggested name.
func Receive[T interface{ GetChunk() *reportingv1.Chunk }](stream chunkStream[T], w io.Writer) (string, error) {
	name := ""
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return name, nil
		}
		if err != nil {
			return name, err
		}
		c := msg.GetChunk()
		if c.GetFileName() != "" {
			name = c.GetFileName()
		}
		if _, err := w.Write(c.GetData()); err != nil {
			return name, err
		}
	}
}

// Fetch runs an export over conn and copies it into w.
func Fetch(ctx context.Context, conn grpc.ClientConnInterface, in *reportingv1.ExportRequest, w io.Writer) (string, error) {
	stream, err := reportingv1.NewReportingServiceClient(conn).Export(ctx, in)
	if err != nil {
		return "", err
	}
	return Receive(stream, w)
}
