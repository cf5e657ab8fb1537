package groupcommit

import (
	"errors"
	"slices"
	"testing"
)

// Items waiting together are committed together, up to the group's size; a
// group that fails is committed again item by item, and only the bad item's
// caller hears of the failure.
func TestGroupsAndRetriesOneByOne(t *testing.T) {
	queue := make(chan string, 5)
	for _, s := range []string{"a", "bad", "c", "d", "e"} {
		queue <- s
	}
	stop := make(chan struct{})
	var groups [][]string
	answers := map[string]error{}
	done := make(chan struct{})
	commit := func(g []string) error {
		groups = append(groups, slices.Clone(g))
		if slices.Contains(g, "bad") {
			return errors.New("refused")
		}
		return nil
	}
	answer := func(s string, err error) {
		answers[s] = err
		if len(answers) == 5 {
			close(stop)
			close(done)
		}
	}
	go Run(stop, queue, 3, commit, answer)
	<-done

	want := [][]string{{"a", "bad", "c"}, {"a"}, {"bad"}, {"c"}, {"d", "e"}}
	if !slices.EqualFunc(groups, want, slices.Equal) {
		t.Fatalf("groups %v, want %v", groups, want)
	}
	for s, err := range answers {
		if (err != nil) != (s == "bad") {
			t.Errorf("%s answered %v", s, err)
		}
	}
}
