package deploytest

import (
	"os/exec"
	"strings"
	"testing"
)

// The production binary (`go build ./cmd/redress`, what the images run)
// carries neither the development stack (the embedded Temporal server and
// its Web UI) nor the benchmarks: only the development build (-tags dev,
// which `make run` and `make bench` use) has them.
func TestProductionBinaryLeavesOutDevelopment(t *testing.T) {
	deps := func(tags ...string) []string {
		args := append([]string{"list", "-deps"}, tags...)
		out, err := exec.Command("go", append(args, "../cmd/redress")...).Output()
		if err != nil {
			t.Fatalf("go %v: %v", args, err)
		}
		return strings.Fields(string(out))
	}
	devOnly := func(pkg string) bool {
		return strings.HasPrefix(pkg, "go.temporal.io/server") || strings.HasPrefix(pkg, "github.com/temporalio/ui-server") ||
			strings.HasSuffix(pkg, "/internal/temporaldev")
	}
	prod, dev := deps(), deps("-tags", "dev")
	var found []string
	for _, p := range prod {
		if devOnly(p) {
			found = append(found, p)
		}
	}
	if len(found) > 0 {
		t.Errorf("the production binary imports %d development packages, e.g. %v", len(found), found[:min(3, len(found))])
	}
	n := 0
	for _, p := range dev {
		if devOnly(p) {
			n++
		}
	}
	if n == 0 {
		t.Fatal("the development build imports no embedded Temporal server: the check above proves nothing")
	}
	t.Logf("production binary: %d packages; development build: %d (%d of the embedded Temporal server and its UI)", len(prod), len(dev), n)
}
