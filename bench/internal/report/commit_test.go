package main

import "testing"

func TestMeasuredCommit(t *testing.T) {
	pass := func(commit, dirty string) string {
		return "1 of 6, wsloop " + commit + " with " + dirty + " uncommitted files, load average before: 1.48 3.84 5.04 4/97 21383"
	}
	for _, tc := range []struct {
		name   string
		passes []string
		want   string
		ok     bool
	}{
		{"none recorded", []string{"1 of 6, load average before: 1.48 3.84 5.04 4/97 21383"}, "", false},
		{"no passes", nil, "", false},
		{"clean", []string{pass("7fa84e4", "0"), pass("7fa84e4", "0")}, "7fa84e4, clean", true},
		{"dirty", []string{pass("a123ac0", "3")}, "a123ac0, dirty (3 uncommitted files outside bench/)", true},
		{"changed", []string{pass("7fa84e4", "0"), pass("a123ac0", "0"), pass("a123ac0", "0")},
			"changing during the run: 7fa84e4, clean; a123ac0, clean", true},
	} {
		got, ok := measuredCommit(tc.passes)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: measuredCommit = %q, %v; want %q, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}
