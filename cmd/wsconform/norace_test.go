//go:build !race

package main

// raceEnabled: this test binary runs under the race detector, so the commands it builds do too.
const raceEnabled = false
