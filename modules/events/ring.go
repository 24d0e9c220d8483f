package events

// ring keeps a tenant's most recent events, oldest first, with contiguous ids: an event that
// does not follow the last one (a gap after a lost pub/sub connection, or a counter that went
// back) starts the ring afresh, so a replay from it never silently skips an event.
//
// It is bounded twice: by count, and by the bytes of the events it holds (a few large events
// must not make every tenant's history cost megabytes on every node).
type ring struct {
	buf      []*frame
	start    int // index of the oldest
	n        int
	bytes    int
	maxBytes int
}

func newRing(size, maxBytes int) ring { return ring{buf: make([]*frame, size), maxBytes: maxBytes} }

func (r *ring) add(f *frame) {
	if len(r.buf) == 0 {
		return
	}
	if r.n > 0 && f.id != r.last()+1 {
		r.reset()
	}
	if r.n == len(r.buf) {
		r.dropOldest()
	}
	r.buf[(r.start+r.n)%len(r.buf)] = f
	r.n++
	r.bytes += len(f.wire)
	for r.maxBytes > 0 && r.bytes > r.maxBytes && r.n > 1 {
		r.dropOldest()
	}
}

func (r *ring) dropOldest() {
	r.bytes -= len(r.buf[r.start].wire)
	r.buf[r.start] = nil
	r.start = (r.start + 1) % len(r.buf)
	r.n--
}

func (r *ring) reset() {
	clear(r.buf)
	r.start, r.n, r.bytes = 0, 0, 0
}

func (r *ring) at(i int) *frame { return r.buf[(r.start+i)%len(r.buf)] }

func (r *ring) first() int64 { return r.at(0).id }

func (r *ring) last() int64 { return r.at(r.n - 1).id }

// after returns the events after id, and whether the ring holds every one of them (id is at or
// after the event just before its oldest, and not ahead of its newest).
func (r *ring) after(id int64) ([]*frame, bool) {
	if r.n == 0 || id < r.first()-1 || id > r.last() {
		return nil, false
	}
	out := make([]*frame, 0, r.last()-id)
	for i := int(id - r.first() + 1); i < r.n; i++ {
		out = append(out, r.at(i))
	}
	return out, true
}
