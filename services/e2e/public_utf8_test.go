package e2e

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strings"
	"testing"

	"github.com/redress/redress/services/internal/records"
)

// A browser may send an evidence file name that is not UTF-8. The public form
// answers it as a bad field (the form again, 400), not "could not be
// recorded" after PostgreSQL refused the group commit it joined; nothing of
// it is stored, and the next citizen's complaint goes through.
func TestPublicFormFileNameNotUTF8(t *testing.T) {
	h := newHarness(t, options{noTemporal: true, noWorker: true})
	site := publicSite(t, h)
	post := func(key, fileName string) (int, string) {
		t.Helper()
		var body bytes.Buffer
		w := multipart.NewWriter(&body)
		for k, v := range map[string]string{"key": key, "kind": "complaint", "category": "spam_sms",
			"description": "Loan offers by SMS every day since my number leaked.", "phone": "+8613800138000", "consent": "yes"} {
			if err := w.WriteField(k, v); err != nil {
				t.Fatal(err)
			}
		}
		hdr := textproto.MIMEHeader{}
		hdr.Set("Content-Disposition", `form-data; name="evidence"; filename="`+fileName+`"`)
		hdr.Set("Content-Type", "text/plain")
		part, err := w.CreatePart(hdr)
		if err != nil {
			t.Fatal(err)
		}
		_, err = part.Write([]byte("the SMS text"))
		mustNot(t, err)
		mustNot(t, w.Close())
		resp, err := http.Post(site.URL+"/complaint", w.FormDataContentType(), &body)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		page, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(page)
	}
	code, page := post("public-utf8-test-0001", "scan\xff\xfe.txt")
	if code != http.StatusBadRequest || !strings.Contains(page, "证据文件1的文件名无效") {
		t.Fatalf("file name not UTF-8: %d\n%s", code, page)
	}
	var n int64
	h.db.Model(&records.Case{}).Count(&n)
	if n != 0 {
		t.Fatalf("%d cases stored", n)
	}
	if code, page := post("public-utf8-test-0002", "scan.txt"); code != http.StatusOK {
		t.Fatalf("a valid complaint after it: %d\n%s", code, page)
	}
}
