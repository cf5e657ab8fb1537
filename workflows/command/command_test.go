package command

import (
	"strings"
	"testing"
	"time"
)

type payload struct {
	Actor string
	At    time.Time
	IDs   []string
	Seal  Seal
}

func TestSignVerify(t *testing.T) {
	key := []byte(strings.Repeat("k", MinKeyBytes))
	now := time.Date(2026, 12, 1, 8, 0, 0, 0, time.FixedZone("CST", 8*3600))
	p := payload{Actor: "sup.wang", At: now, IDs: []string{"a"}}
	c := Command{WorkflowID: "deletion/1", Update: "approve", UpdateID: "u1", Actor: p.Actor, Expires: now.Add(time.Minute)}
	seal, err := Sign(key, c, p)
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(key)
	if err != nil {
		t.Fatal(err)
	}
	c.Digest, _ = PayloadDigest(p)
	if err := v.Verify(c, seal, now); err != nil {
		t.Fatalf("signed command refused: %v", err)
	}
	for name, tc := range map[string]struct {
		c    func(Command) Command
		s    func(Seal) Seal
		now  time.Time
		want string
	}{
		"unsigned":       {s: func(Seal) Seal { return Seal{} }, want: "not signed"},
		"other workflow": {c: func(c Command) Command { c.WorkflowID = "deletion/2"; return c }, want: "does not verify"},
		"other update":   {c: func(c Command) Command { c.Update = "reject"; return c }, want: "does not verify"},
		"other id":       {c: func(c Command) Command { c.UpdateID = "u2"; return c }, want: "does not verify"},
		"other actor":    {c: func(c Command) Command { c.Actor = "agent.li"; return c }, want: "does not verify"},
		"other payload":  {c: func(c Command) Command { c.Digest = strings.Repeat("0", 64); return c }, want: "does not verify"},
		"later expiry":   {s: func(s Seal) Seal { s.Expires = s.Expires.Add(time.Hour); return s }, want: "does not verify"},
		"not hex":        {s: func(s Seal) Seal { s.Signature = "zz"; return s }, want: "does not verify"},
		"expired":        {now: now.Add(time.Minute), want: "expired"},
	} {
		cc, ss, at := c, seal, now
		if tc.c != nil {
			cc = tc.c(cc)
		}
		if tc.s != nil {
			ss = tc.s(ss)
		}
		if !tc.now.IsZero() {
			at = tc.now
		}
		if err := v.Verify(cc, ss, at); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", name, err, tc.want)
		}
	}
	var none *Verifier
	if err := none.Verify(c, seal, now); err == nil {
		t.Error("a worker without a key accepted a command")
	}
	if _, err := NewVerifier(key[:MinKeyBytes-1]); err == nil {
		t.Error("short key accepted")
	}
}
