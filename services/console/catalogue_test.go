package console

import "testing"

// Every console text exists in every language with the same arguments; a
// key missing in Chinese showed English on the Chinese console.
func TestConsoleCatalogue(t *testing.T) {
	if bad := messages.Check(); len(bad) > 0 {
		t.Fatal(bad)
	}
}
