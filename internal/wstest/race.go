//go:build race

package wstest

// RaceEnabled reports that the test binary runs under the race detector, which allocates on its
// own and makes sync.Pool drop buffers at random: allocation counts mean nothing there.
const RaceEnabled = true
