// Package groupcommit commits queued items in groups: every item waiting
// when a transaction begins goes into it, so a burst pays one transaction,
// one audit-head lock and one WAL flush instead of one each.
package groupcommit

// Run takes items from queue until stop closes (a nil stop: forever). Each
// group is the first item and whatever else waits, up to maxGroup; commit
// writes a group in one transaction, and answer tells each item's caller how
// its commit went, only after it returned. A group that fails is committed
// again one item per transaction, so one bad item cannot fail its neighbours.
func Run[T any](stop <-chan struct{}, queue <-chan T, maxGroup int, commit func([]T) error, answer func(T, error)) {
	for {
		var first T
		select {
		case <-stop:
			return
		case first = <-queue:
		}
		group := []T{first}
	fill:
		for len(group) < maxGroup {
			select {
			case item := <-queue:
				group = append(group, item)
			default:
				break fill
			}
		}
		err := commit(group)
		if err != nil && len(group) > 1 {
			for _, item := range group {
				answer(item, commit([]T{item}))
			}
			continue
		}
		for _, item := range group {
			answer(item, err)
		}
	}
}
