package events

import (
	"bufio"
	"time"
)

// Stream is one client's open event stream on this node.
type Stream struct {
	hub    *Hub
	sub    *subscriber
	replay []*frame
	resync bool
	// cursor is the last id the client has; older events arriving late are not sent again.
	cursor int64
}

var (
	readyWire     = []byte("retry: 5000\nevent: ready\ndata: {}\n\n")
	resyncWire    = wireEvent(0, "resync", []byte(`{"reason":"history_unavailable"}`))
	heartbeatWire = []byte(":\n\n")
)

func endWire(why string) []byte {
	if why == reasonBehind {
		return wireEvent(0, "resync", []byte(`{"reason":"`+why+`"}`))
	}
	return wireEvent(0, "end", []byte(`{"reason":"`+why+`"}`))
}

// Serve writes the stream to w until the stream ends or a write fails (the client went away),
// flushing after each event. beforeFlush, if set, runs before every flush (the HTTP layer
// extends the connection's write deadline there, so a stuck client is cut off).
func (st *Stream) Serve(w *bufio.Writer, beforeFlush func()) {
	defer st.Close()
	s := st.sub
	flush := func() bool {
		if beforeFlush != nil {
			beforeFlush()
		}
		return w.Flush() == nil
	}
	_, _ = w.Write(readyWire)
	if st.resync {
		_, _ = w.Write(resyncWire)
	}
	for _, f := range st.replay {
		_, _ = w.Write(f.wire)
		st.cursor = f.id
	}
	st.replay = nil
	if !flush() {
		return
	}
	hb := time.NewTicker(st.hub.cfg.Heartbeat)
	defer hb.Stop()
	for {
		select {
		case <-s.done:
			_, _ = w.Write(endWire(s.why))
			flush()
			return
		case f := <-s.ch:
			st.write(w, f)
			// Send what else is already waiting in the same flush.
			for more := len(s.ch); more > 0; more-- {
				st.write(w, <-s.ch)
			}
			if st.ended() {
				_, _ = w.Write(endWire(s.why))
				flush()
				return
			}
			if !flush() {
				return
			}
		case <-hb.C:
			_, _ = w.Write(heartbeatWire)
			if !flush() {
				return
			}
		}
	}
}

// write buffers one event unless the stream has ended meanwhile (nothing more reaches a
// principal whose credentials ended) or the client already has it.
func (st *Stream) write(w *bufio.Writer, f *frame) {
	if st.ended() || f.id <= st.cursor {
		return
	}
	_, _ = w.Write(f.wire)
	st.cursor = f.id
}

func (st *Stream) ended() bool {
	select {
	case <-st.sub.done:
		return true
	default:
		return false
	}
}

// Close unregisters the stream; Serve calls it when it returns.
func (st *Stream) Close() {
	st.hub.remove(st.sub)
	st.sub.end(reasonShutdown)
}
