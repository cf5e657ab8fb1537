package e2e

import (
	"encoding/json"
	"strings"
	"testing"
)

// checkCertificateWords checks that a certificate of the customer-db run
// says, system by system and in English and Chinese, what was erased, what
// was masked and what is kept until when under which duty.
func checkCertificateWords(t *testing.T, body string) {
	t.Helper()
	var cert struct {
		StatementEN []string `json:"statement_en"`
		StatementZH []string `json:"statement_zh"`
		Systems     []struct {
			Connector string `json:"connector"`
			Outcomes  []struct {
				Target          string  `json:"target"`
				Done            string  `json:"done"`
				RestrictedUntil *string `json:"restricted_until"`
				Citation        string  `json:"citation"`
			} `json:"outcomes"`
		} `json:"systems"`
	}
	if err := json.Unmarshal([]byte(body), &cert); err != nil {
		t.Fatal(err)
	}
	done := map[string]string{}
	for _, s := range cert.Systems {
		for _, o := range s.Outcomes {
			done[s.Connector+"/"+o.Target+"/"+o.Done] = o.Citation
			if o.Done == "restricted" && (o.RestrictedUntil == nil || o.Citation == "") {
				t.Errorf("a restricted outcome without its date or citation: %+v", o)
			}
		}
	}
	for _, want := range []string{"customer-db/accounts/erased", "customer-db/orders/erased", "customer-db/marketing_list/masked",
		"customer-db/call_logs/erased", "customer-db/call_logs/restricted"} {
		if _, ok := done[want]; !ok {
			t.Errorf("the certificate does not state %s (it states %v)", want, done)
		}
	}
	en, zh := strings.Join(cert.StatementEN, "\n"), strings.Join(cert.StatementZH, "\n")
	if len(cert.StatementEN) != len(cert.StatementZH) || !strings.Contains(en, "masked") || !strings.Contains(en, "until") ||
		!strings.Contains(zh, "去标识化") || !strings.Contains(zh, "留存") {
		t.Errorf("statements:\n%s\n%s", en, zh)
	}
	if strings.Contains(en, "every system") {
		t.Errorf("the certificate claims deletion from every system:\n%s", en)
	}
}
