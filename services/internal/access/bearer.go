package access

import "context"

// Bearer is the client side of the guard's credential check: it sends the
// credential Token answers on every call (authorization: Bearer <token>).
// Transport security is the dial's (mutual TLS where deployed), as for the
// console's calls.
type Bearer struct {
	Token func(context.Context) (string, error)
}

// GetRequestMetadata implements credentials.PerRPCCredentials.
func (b Bearer) GetRequestMetadata(ctx context.Context, _ ...string) (map[string]string, error) {
	t, err := b.Token(ctx)
	if err != nil {
		return nil, err
	}
	return map[string]string{"authorization": "Bearer " + t}, nil
}

// RequireTransportSecurity implements credentials.PerRPCCredentials.
func (Bearer) RequireTransportSecurity() bool { return false }
