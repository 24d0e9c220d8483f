package jobs

import (
	"fmt"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/robfig/cron/v3"
)

// tickSpread bounds how far apart the schedulers of different processes fire for the same tick:
// clock skew between hosts plus timer latency and pauses.
const tickSpread = 2 * time.Second

// dedupeOpts are the options that make several schedulers enqueue one run per tick.
//
// asynq.Scheduler enqueues the same *Task with the same options at every tick, so the choice
// is between a fixed TaskID and a Unique lock (asynq v0.26 has no per-tick option):
//
//   - A fixed TaskID is taken while a task with that ID exists in any state. One run that
//     exhausts its retries is archived and kept for 90 days, and every later tick then fails
//     with ErrTaskIDConflict: the job silently stops. A run that succeeds is deleted at once,
//     freeing the ID, so it would not deduplicate a late scheduler any better than Unique.
//   - Unique(ttl) takes a lock on (queue, type, payload) with SET NX EX. Other schedulers
//     firing on the same tick get ErrDuplicateTask, and a run that is archived (or still
//     retrying) blocks the schedule for ttl at most. This is the one that works. For periods
//     of 2s and more the lock expires before the next tick, which therefore always runs.
//
// asynq releases the Unique lock as soon as the run succeeds (rdb.Done deletes it). A fast
// task could therefore finish before a scheduler a few milliseconds late tries the same tick,
// and run twice. Holding the task back (ProcessIn) for up to tickSpread keeps it, and so the
// lock, alive until every scheduler has fired for that tick. Periodic jobs are maintenance;
// starting a second or two late costs nothing. asynq stores a scheduled task's time in whole
// seconds (ProcessIn(500ms) is due at once), so the hold is whole seconds, and periods under
// 2s (tests) get none.
func dedupeOpts(period time.Duration) []asynq.Option {
	hold := min(tickSpread, (period / 2).Truncate(time.Second))
	ttl := max((period - hold).Truncate(time.Second), time.Second)
	if hold == 0 {
		return []asynq.Option{asynq.Unique(ttl)}
	}
	return []asynq.Option{asynq.ProcessIn(hold), asynq.Unique(ttl)}
}

// shortestPeriod is the smallest gap between the schedule's next ticks; irregular schedules
// ("0 9 * * 1-5") need the lock to expire before the closest pair of ticks.
func shortestPeriod(s cron.Schedule) time.Duration {
	prev := s.Next(time.Now().UTC())
	shortest := time.Duration(0)
	for range 16 {
		next := s.Next(prev)
		if gap := next.Sub(prev); shortest == 0 || gap < shortest {
			shortest = gap
		}
		prev = next
	}
	return shortest
}

// alignEvery rewrites "@every d" as a wall-clock cron expression when d divides a day or an
// hour. asynq's cron library counts "@every" from each process's start, so two workers started
// at 10:00:05 and 10:20:40 with "@every 1h" would tick twenty minutes apart and the Unique lock
// could not pair their ticks; "0 * * * *" ticks at the same instant in every process.
func alignEvery(spec string) string {
	rest, ok := strings.CutPrefix(strings.TrimSpace(spec), "@every ")
	if !ok {
		return spec
	}
	d, err := time.ParseDuration(strings.TrimSpace(rest))
	if err != nil || d <= 0 {
		return spec
	}
	switch {
	case d == 24*time.Hour:
		return "0 0 * * *"
	case d%time.Hour == 0 && (24*time.Hour)%d == 0:
		return fmt.Sprintf("0 */%d * * *", d/time.Hour)
	case d%time.Minute == 0 && time.Hour%d == 0:
		return fmt.Sprintf("*/%d * * * *", d/time.Minute)
	}
	return spec
}
