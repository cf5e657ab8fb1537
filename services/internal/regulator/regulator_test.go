package regulator

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redress/redress/services/internal/notify"
	"github.com/redress/redress/services/internal/notify/smtptest"
)

func testFiling() Filing {
	return Filing{EscalationID: "5b0c2c1e-8a7f-4a53-9d6e-3f7a1c2b9e10", Kind: "incident",
		IdempotencyKey: "5b0c2c1e-8a7f-4a53-9d6e-3f7a1c2b9e10", Package: bytes.Repeat([]byte("PK\x03\x04zip"), 100),
		PackageSHA256: "abc", Manifest: []byte(`{"format":"redress-filing/1"}`)}
}

// The HTTPS adapter maps the regulator's answers: 200 with an id is an
// acknowledgement, 202 a receipt, 5xx/429 worth retrying, other 4xx final;
// every request is signed and carries the idempotency key.
func TestHTTPSAnswers(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	var status int
	var body string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if !VerifySignature(pub, b, r.Header.Get(HeaderSignature)) || r.Header.Get(HeaderKeyID) != "k1" ||
			r.Header.Get(HeaderIdempotencyKey) != testFiling().IdempotencyKey {
			http.Error(w, "unsigned", http.StatusUnauthorized)
			return
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	defer srv.Close()
	h := &HTTPS{URL: srv.URL, Client: srv.Client(), SigningKey: priv, KeyID: "k1"}
	cases := []struct {
		status   int
		body     string
		outcome  string
		ref      string
		rejected bool
		fails    bool
	}{
		{200, `{"acknowledgement_id":"ACK-9"}`, Acknowledged, "ACK-9", false, false},
		{202, `{"receipt_id":"R-1"}`, Accepted, "R-1", false, false},
		{200, `{}`, "", "", false, true},
		{500, ``, "", "", false, true},
		{429, ``, "", "", false, true},
		{422, `{"error":"bad manifest"}`, "", "", true, true},
	}
	for _, c := range cases {
		status, body = c.status, c.body
		rc, err := h.Submit(context.Background(), testFiling())
		if (err != nil) != c.fails || errors.Is(err, ErrRejected) != c.rejected || rc.Outcome != c.outcome || rc.Reference != c.ref {
			t.Errorf("%d %s: receipt %+v err %v", c.status, c.body, rc, err)
		}
	}
	// A wrong key is refused by the regulator: final.
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	h.SigningKey = other
	if _, err := h.Submit(context.Background(), testFiling()); !errors.Is(err, ErrRejected) {
		t.Errorf("wrong signature: %v", err)
	}
}

// The email adapter sends one message with the package attached intact, its
// Message-ID derived from the idempotency key.
func TestEmailAttachesPackage(t *testing.T) {
	s := smtptest.Start(t)
	e := &Email{Mail: &notify.SMTPSender{Addr: s.Addr(), From: "filings@operator.example", Timeout: 5 * time.Second}, To: "filings@regulator.example"}
	f := testFiling()
	rc, err := e.Submit(context.Background(), f)
	if err != nil || rc.Outcome != Accepted {
		t.Fatalf("submit: %+v %v", rc, err)
	}
	m := s.WaitCount(t, 1, 10*time.Second)[0]
	if m.To[0] != "filings@regulator.example" || m.Header.Get("Message-Id") != notify.MessageID("filing/"+f.IdempotencyKey) {
		t.Fatalf("to %v message-id %q", m.To, m.Header.Get("Message-Id"))
	}
	msg, err := mail.ReadMessage(bytes.NewReader(m.Raw))
	if err != nil {
		t.Fatal(err)
	}
	_, params, _ := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var got []byte
	for {
		p, err := mr.NextPart()
		if err != nil {
			break
		}
		if p.Header.Get("Content-Type") == "application/zip" {
			b, _ := io.ReadAll(p)
			got, _ = base64.StdEncoding.DecodeString(strings.ReplaceAll(string(b), "\r\n", ""))
		}
	}
	if !bytes.Equal(got, f.Package) {
		t.Fatalf("attached package differs (%d bytes, want %d)", len(got), len(f.Package))
	}
}

// The directory file chooses an adapter per body; unknown bodies take the
// default; without one, filing is manual. Bad entries are refused at start.
func TestLoadDirectory(t *testing.T) {
	dir := t.TempDir()
	seed := make([]byte, ed25519.SeedSize)
	rand.Read(seed)
	keyFile := filepath.Join(dir, "signing.key")
	if err := os.WriteFile(keyFile, []byte(base64.StdEncoding.EncodeToString(seed)), 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "regulators.json")
	if err := os.WriteFile(file, []byte(`{"default":{"adapter":"manual"},"bodies":{
		"miit":{"adapter":"https","url":"https://filing.miit.example/api","signing_key":"`+keyFile+`","key_id":"op-1"},
		"cac":{"adapter":"email","to":"report@cac.example"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := LoadDirectory(file, &notify.SMTPSender{Addr: "127.0.0.1:25", From: "a@b.example"})
	if err != nil {
		t.Fatal(err)
	}
	if d.For("miit").Name() != "https" || d.For("cac").Name() != "email" || d.For("12321").Name() != "manual" {
		t.Fatalf("adapters: %s %s %s", d.For("miit").Name(), d.For("cac").Name(), d.For("12321").Name())
	}
	if (&Directory{}).For("x").Name() != "manual" {
		t.Fatal("empty directory is not manual")
	}
	for name, body := range map[string]string{
		"plain http":    `{"bodies":{"x":{"adapter":"https","url":"http://x.example","signing_key":"` + keyFile + `"}}}`,
		"no auth":       `{"bodies":{"x":{"adapter":"https","url":"https://x.example"}}}`,
		"email no smtp": `{"bodies":{"x":{"adapter":"email","to":"a@b.example"}}}`,
		"unknown":       `{"bodies":{"x":{"adapter":"fax"}}}`,
	} {
		if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadDirectory(file, nil); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
