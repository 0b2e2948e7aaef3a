package poller

import (
	"testing"

	"golang.org/x/sys/unix"
)

// TestConnCapLeavesReserve sets the process's descriptor limit (the soft RLIMIT_NOFILE, restored
// after) and checks the connection cap exactly: the limit less the 64-descriptor reserve, or half
// the limit when the limit is at most twice the reserve. A cap that drops the reserve, or is one
// off either way, fails.
func TestConnCapLeavesReserve(t *testing.T) {
	var orig unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &orig); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &orig); err != nil {
			t.Errorf("restoring RLIMIT_NOFILE %+v: %v", orig, err)
		}
	})
	if fdReserve != 64 {
		t.Fatalf("fdReserve = %d, want 64", fdReserve)
	}
	for _, tc := range []struct{ limit, want uint64 }{
		{4096, 4032},
		{1000, 936},
		{129, 65}, // the first limit above twice the reserve
		{128, 64}, // twice the reserve: half of it
		{100, 50},
		{3, 1},
	} {
		if tc.limit > orig.Max {
			t.Fatalf("the hard limit %d is below the test's %d", orig.Max, tc.limit)
		}
		// Nothing in this loop opens a descriptor: a low limit only refuses new ones.
		if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &unix.Rlimit{Cur: tc.limit, Max: orig.Max}); err != nil {
			t.Fatal(err)
		}
		if got := connCap(); got != int64(tc.want) {
			t.Errorf("with RLIMIT_NOFILE %d, connCap() = %d, want %d", tc.limit, got, tc.want)
		}
	}
	if orig.Cur <= 1<<30 && orig.Cur > 2*fdReserve {
		if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &orig); err != nil {
			t.Fatal(err)
		}
		if got, want := connCap(), int64(orig.Cur)-64; got != want {
			t.Errorf("with the process's own RLIMIT_NOFILE %d, connCap() = %d, want %d", orig.Cur, got, want)
		}
	}
}
