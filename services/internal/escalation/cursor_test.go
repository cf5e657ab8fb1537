package escalation

import (
	"testing"
	"time"

	"github.com/google/uuid"
)

// FuzzDecodeCursor: a page token from a client never panics the decoder,
// and what it accepts round-trips to the same token.
func FuzzDecodeCursor(f *testing.F) {
	f.Add(encodeCursor(cursor{At: time.Date(2026, 3, 1, 8, 0, 0, 123456000, time.UTC), ID: uuid.NewString()}))
	f.Add("")
	f.Add("zz")
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := decodeCursor(tok)
		if err != nil {
			return
		}
		again, err := decodeCursor(encodeCursor(*c))
		if err != nil || !again.At.Equal(c.At) || again.ID != c.ID {
			t.Fatalf("token %q decoded to %+v, re-encoded to %+v (%v)", tok, c, again, err)
		}
	})
}
