package freeport

import (
	"bufio"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// A port picked by another live process is never picked here, even before
// that process binds it: make run is handed ports by the test that starts
// it, and binds them only after a build of many seconds, while other test
// processes pick ports of their own (CI once saw Temporal's frontend fail
// to listen, and panic, in that window).
func TestPickSkipsPortsAnotherProcessPicked(t *testing.T) {
	lo, _ := ephemeralRangeOrSkip(t)
	const span = 20
	dir := t.TempDir()
	narrow(t, dir, lo, span)

	child := exec.Command(os.Args[0], "-test.run=^TestHelperPicker$")
	child.Env = append(os.Environ(), "FREEPORT_HELPER="+dir+","+strconv.Itoa(lo)+","+strconv.Itoa(span))
	stdin, err := child.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	theirs := map[int]bool{}
	lines := bufio.NewScanner(stdout)
	for len(theirs) < span/2 && lines.Scan() {
		if n, ok := strings.CutPrefix(lines.Text(), "port "); ok {
			p, err := strconv.Atoi(n)
			if err != nil {
				t.Fatal(err)
			}
			theirs[p] = true
		}
	}
	if len(theirs) < span/2 {
		t.Fatalf("the other process picked %d ports, want %d", len(theirs), span/2)
	}

	for range span / 2 {
		p, err := Pick("127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		if theirs[p] {
			t.Fatalf("picked port %d, which the other (live) process picked", p)
		}
	}

	// Once that process is gone its ports are free to pick again.
	_ = stdin.Close()
	if err := child.Wait(); err != nil {
		t.Fatal(err)
	}
	for range span / 2 {
		p, err := Pick("127.0.0.1")
		if err != nil {
			t.Fatalf("after the other process ended: %v", err)
		}
		if !theirs[p] {
			t.Fatalf("picked port %d twice", p)
		}
	}
}

// A port the process was handed (and reserved) is never picked for another
// of its servers.
func TestReservedPortIsNeverPicked(t *testing.T) {
	lo, _ := ephemeralRangeOrSkip(t)
	narrow(t, t.TempDir(), lo, 3)
	Reserve(lo + 1)
	for range 3 {
		p, err := Pick("127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		if p == lo+1 {
			t.Fatalf("picked the reserved port %d", p)
		}
	}
}

// TestHelperPicker is the other process of the test above: it picks half the
// narrowed range, prints the ports and lives until its stdin closes.
func TestHelperPicker(t *testing.T) {
	v := os.Getenv("FREEPORT_HELPER")
	if v == "" {
		t.Skip("helper process only")
	}
	f := strings.Split(v, ",")
	lo, _ := strconv.Atoi(f[1])
	span, _ := strconv.Atoi(f[2])
	narrow(t, f[0], lo, span)
	for range span / 2 {
		p, err := Pick("127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stdout.WriteString("port " + strconv.Itoa(p) + "\n"); err != nil {
			t.Fatal(err)
		}
	}
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
}

// narrow makes Pick choose from span ports from lo and keep its claims in
// dir, starting with none; the test's claims are dropped at its end.
func narrow(t *testing.T, dir string, lo, span int) {
	oldDir, oldRange, oldHandedOut, oldHeld := claimDir, pickRange, handedOut, held
	claimDir = dir
	pickRange = func() (int, int, bool) { return lo, lo + span, true }
	handedOut, held = map[int]bool{}, nil
	t.Cleanup(func() {
		for _, f := range held {
			_ = f.Close()
		}
		claimDir, pickRange, handedOut, held = oldDir, oldRange, oldHandedOut, oldHeld
	})
}
