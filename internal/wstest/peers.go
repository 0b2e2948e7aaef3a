package wstest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// The tests that run outside peers (Node's ws and nodejs-websocket, playwright-core driving
// Chromium, Python's websockets) find them by themselves and fail, saying what to install, when one
// is missing. They skip only when SkipPeersEnv is set to 1.
const (
	// SkipPeersEnv, set to 1, makes every test that needs an outside peer skip, and say so.
	SkipPeersEnv = "WSLOOP_SKIP_INTEROP"
	// NodeModulesEnv names a node_modules folder to use instead of the one make deps fills
	// (.cache/npm/node_modules at the module root).
	NodeModulesEnv = "WSLOOP_NODE_MODULES"
)

// installHint is what every missing-peer failure ends with.
const installHint = "run `make deps` at the module root (or set " + SkipPeersEnv + "=1 to skip the tests that need outside peers)"

// skipPeers skips t when SkipPeersEnv says so.
func skipPeers(t testing.TB, what string) {
	t.Helper()
	if os.Getenv(SkipPeersEnv) == "1" {
		t.Skipf("%s=1: skipping a test that needs %s", SkipPeersEnv, what)
	}
}

// moduleRoot is the directory of the go.mod nearest above the test's working directory (go test
// runs a test in its package's directory).
var moduleRoot = sync.OnceValues(func() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		up := filepath.Dir(dir)
		if up == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = up
	}
})

// nodeModules returns the node_modules folder to use: NodeModulesEnv when set, else the one make
// deps fills under the module root.
func nodeModules() (string, error) {
	if dir := os.Getenv(NodeModulesEnv); dir != "" {
		return dir, nil
	}
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, ".cache", "npm", "node_modules"), nil
}

// Node returns the node_modules folder holding every one of packages and the node binary on the
// PATH. It fails t, naming what is missing and how to install it, when node or a package is not
// there, and skips t only when SkipPeersEnv is 1. Run node with NODE_PATH set to modules.
func Node(t testing.TB, packages ...string) (modules, node string) {
	t.Helper()
	skipPeers(t, "Node with "+strings.Join(packages, ", "))
	var missing []string
	node, err := exec.LookPath("node")
	if err != nil {
		missing = append(missing, "node is not on the PATH")
	}
	modules, err = nodeModules()
	if err != nil {
		t.Fatalf("finding the npm folder: %v; %s", err, installHint)
	}
	var absent []string
	for _, p := range packages {
		if _, err := os.Stat(filepath.Join(modules, p, "package.json")); err != nil {
			absent = append(absent, p)
		}
	}
	if len(absent) > 0 {
		from := "the npm folder make deps fills"
		if os.Getenv(NodeModulesEnv) != "" {
			from = NodeModulesEnv
		}
		missing = append(missing, fmt.Sprintf("npm packages %s are not in %s (%s)", strings.Join(absent, ", "), modules, from))
	}
	if len(missing) > 0 {
		t.Fatalf("outside peers missing: %s; %s", strings.Join(missing, "; "), installHint)
	}
	return modules, node
}

// chromiumCandidates are the names Chromium goes by on the PATH, then Debian's path.
var chromiumCandidates = []string{"chromium", "chromium-browser", "/usr/bin/chromium"}

// Chromium returns the path of a Chromium binary: chromium or chromium-browser on the PATH, else
// /usr/bin/chromium. It fails t, saying how to install it, when there is none, and skips t only
// when SkipPeersEnv is 1.
func Chromium(t testing.TB) string {
	t.Helper()
	skipPeers(t, "Chromium")
	for _, name := range chromiumCandidates {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	t.Fatalf("outside peers missing: no Chromium (looked for %s); %s", strings.Join(chromiumCandidates, ", "), installHint)
	return ""
}

// DebianPython is the interpreter the Python interop test runs: Debian's own, which sees Debian's
// python3-websockets (the python3 on the PATH may be another, such as pyenv's, without it).
const DebianPython = "/usr/bin/python3"

// Python returns DebianPython once it can import every one of modules. It fails t, saying what to
// install, when the interpreter or a module is missing, and skips t only when SkipPeersEnv is 1.
func Python(t testing.TB, modules ...string) string {
	t.Helper()
	skipPeers(t, "Python with "+strings.Join(modules, ", "))
	if _, err := os.Stat(DebianPython); err != nil {
		t.Fatalf("outside peers missing: %s: %v (Debian's python3); %s", DebianPython, err, installHint)
	}
	for _, m := range modules {
		if out, err := exec.Command(DebianPython, "-c", "import "+m).CombinedOutput(); err != nil {
			t.Fatalf("outside peers missing: %s cannot import %s (Debian's python3-%s): %v\n%s%s", DebianPython, m, m, err, out, installHint)
		}
	}
	return DebianPython
}
