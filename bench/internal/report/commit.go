package main

import (
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"strings"
)

// passCommit matches what bench/Makefile writes into each "# pass" line about the tree it is
// about to measure: "wsloop <git log -1 %h> with <n> uncommitted files" (files outside bench/).
var passCommit = regexp.MustCompile(`wsloop ([0-9a-f]{4,40}) with (\d+) uncommitted files`)

// measuredCommit names the wsloop commit the benchmarks built (bench/ uses replace => ../), with
// a dirty flag, as the "# pass" lines recorded it before each pass: "7fa84e4, clean", or "7fa84e4,
// dirty (3 uncommitted files outside bench/)", or every distinct value when it changed during the
// run. ok is false when no pass line recorded a commit.
func measuredCommit(passes []string) (commit string, ok bool) {
	var seen []string
	for _, p := range passes {
		m := passCommit.FindStringSubmatch(p)
		if m == nil {
			continue
		}
		v := m[1] + ", clean"
		if m[2] != "0" {
			v = fmt.Sprintf("%s, dirty (%s uncommitted files outside bench/)", m[1], m[2])
		}
		if !slices.Contains(seen, v) {
			seen = append(seen, v)
		}
	}
	switch len(seen) {
	case 0:
		return "", false
	case 1:
		return seen[0], true
	}
	return "changing during the run: " + strings.Join(seen, "; "), true
}

// treeCommit names the commit of the tree the report is made in, with the same dirty flag:
// git rev-parse --short HEAD, and whether git status shows changes outside bench/.
func treeCommit() string {
	out, err := exec.Command("git", "-C", "..", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "unknown (git rev-parse failed)"
	}
	v := strings.TrimSpace(string(out))
	st, err := exec.Command("git", "-C", "..", "status", "--porcelain", "--", ".", ":(exclude)bench").Output()
	switch {
	case err != nil:
		return v + ", dirty flag unknown (git status failed)"
	case len(strings.TrimSpace(string(st))) == 0:
		return v + ", clean"
	}
	return fmt.Sprintf("%s, dirty (%d uncommitted files outside bench/)", v, strings.Count(strings.TrimRight(string(st), "\n"), "\n")+1)
}

// commitRow is the header's statement of what was measured: the commit the run recorded, or, when
// it recorded none, that it did not (the tree the report is made in may be a later one, and is
// named as such, never as the one measured).
func commitRow(passes []string) string {
	now := treeCommit()
	m, ok := measuredCommit(passes)
	if !ok {
		return "not recorded by the run (its pass lines name no commit); the report was made at " + now + ", which need not be what was measured"
	}
	if strings.SplitN(m, ",", 2)[0] != strings.SplitN(now, ",", 2)[0] {
		return m + " (the report was made later, at " + now + ")"
	}
	return m
}
