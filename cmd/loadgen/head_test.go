package main

import (
	"io"
	"strings"
	"testing"
)

// -head-bytes N adds exactly N bytes to the request head, and values too small for the line are
// refused.
func TestHeadBytes(t *testing.T) {
	for _, n := range []int{len(padLine), 340} {
		var b strings.Builder
		if err := padHeader(n).Write(&b); err != nil {
			t.Fatal(err)
		}
		if b.Len() != n {
			t.Fatalf("padHeader(%d) writes %d bytes: %q", n, b.Len(), b.String())
		}
	}
	if _, err := parseFlags([]string{"idle", "-head-bytes", "8"}, io.Discard); err == nil {
		t.Fatal("-head-bytes 8 accepted")
	}
	c, err := parseFlags([]string{"idle", "-head-bytes", "340"}, io.Discard)
	if err != nil || c.headBytes != 340 {
		t.Fatalf("parseFlags: %v, headBytes %v", err, c)
	}
}
