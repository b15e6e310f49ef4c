package pgjobs

// OnSnooze sets a hook called with the id of each job q's workers snooze
// (its lease held by a live execution elsewhere).
func OnSnooze(q *Jobs, fn func(id string)) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.onSnooze = fn
}
