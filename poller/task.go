package poller

import (
	"context"

	"github.com/panjf2000/gnet/v2"
)

// Task is work that runs on a loop, made once and queued with Loop.Execute as often as needed.
type Task struct{ r gnet.Runnable }

// NewTask makes a task that runs fn.
func NewTask(fn func()) *Task {
	return &Task{r: gnet.RunnableFunc(func(context.Context) error { fn(); return nil })}
}

// Execute queues t to run once on the loop, after what the loop is doing. It is safe from any
// goroutine. It fails once the loop is shutting down: t will not run.
func (l *Loop) Execute(t *Task) error { return l.el.Execute(context.Background(), t.r) }

// LoopOf returns the loop a transport runs on, nil for one that has none (a stream, such as TLS,
// runs on goroutines of its own; the in-memory transport of tests).
func LoopOf(t Transport) *Loop {
	if c, ok := t.(*gnetConn); ok {
		return c.loop
	}
	return nil
}
