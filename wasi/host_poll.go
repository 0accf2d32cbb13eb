package wasi

import (
	"context"

	"github.com/tetratelabs/wazero/api"
)

// pollOneoff is poll_oneoff: concurrently poll for the occurrence of a set
// of events.
//
// Parameters: in (i32) is the array of nsubscriptions subscriptions (48
// bytes each) to which to subscribe; out (i32) is the array of events (32
// bytes each) that have occurred, with room for nsubscriptions;
// nsubscriptions (i32) is both the number of subscriptions and of event
// slots (zero is EINVAL); result.nevents (i32) receives the number of events
// stored (u32).
// Result: errno.
var pollOneoff = &function{
	id:     FuncPollOneOff,
	params: []param{{"in", i32}, {"out", i32}, {"nsubscriptions", i32}, {"result.nevents", i32}},
	call: func(b *binding, ctx context.Context, mod api.Module, stack []uint64) Errno {
		n := uint32(stack[2])
		if n == 0 {
			return EINVAL
		}
		mem := b.memory(mod)
		in, ok := array(mem, uint32(stack[0]), n, SubscriptionSize)
		if !ok {
			return EFAULT
		}
		out, ok := array(mem, uint32(stack[1]), n, EventSize)
		if !ok {
			return EFAULT
		}
		nevents, ok := region(mem, uint32(stack[3]), 4)
		if !ok {
			return EFAULT
		}
		if cap(b.subs) < int(n) {
			b.subs = make([]Subscription, n)
			b.events = make([]Event, n)
		}
		subs, events := b.subs[:n], b.events[:n]
		for i := range subs {
			if errno := getSubscription(in[i*SubscriptionSize:], &subs[i]); errno != ESUCCESS {
				return errno
			}
		}
		clear(events)
		count, errno := b.sys.PollOneOff(ctx, subs, events)
		if errno != ESUCCESS {
			return errno
		}
		count = min(count, len(events))
		for i := range count {
			putEvent(out[i*EventSize:], &events[i])
		}
		le.PutUint32(nevents, uint32(count))
		return ESUCCESS
	},
}
