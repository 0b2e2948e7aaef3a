package api

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestReadmeCompiles builds every Go code block of the README with the go tool. A block that
// starts with a package clause is built as it is; any other is a main body, its leading import
// declarations kept in front of func main. Each block is mapped, through an overlay, into a
// package of the module that exists only during the build, so that it imports the module's own
// packages as a user would.
func TestReadmeCompiles(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := goBlocks(string(readme))
	if len(blocks) == 0 {
		t.Fatal("the README has no Go code block")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool in PATH")
	}
	dir := t.TempDir()
	for i, b := range blocks {
		t.Run(fmt.Sprintf("block%d", i), func(t *testing.T) {
			src := filepath.Join(dir, fmt.Sprintf("block%d.go", i))
			if err := os.WriteFile(src, []byte(mainProgram(b)), 0o600); err != nil {
				t.Fatal(err)
			}
			pkg := fmt.Sprintf("internal/readmecheck/block%d", i)
			overlay, err := json.Marshal(map[string]map[string]string{
				"Replace": {filepath.Join(root, pkg, "main.go"): src},
			})
			if err != nil {
				t.Fatal(err)
			}
			ovl := filepath.Join(dir, fmt.Sprintf("overlay%d.json", i))
			if err := os.WriteFile(ovl, overlay, 0o600); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, goTool, "build", "-o", os.DevNull, "-overlay", ovl, "./"+pkg)
			cmd.Dir = root
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("README block %d does not build: %v\n%s\n%s", i, err, out, b)
			}
		})
	}
}

// goBlocks returns the contents of the markdown's ```go fenced blocks, in order.
func goBlocks(md string) []string {
	var blocks []string
	var cur *strings.Builder
	for line := range strings.Lines(md) {
		trimmed := strings.TrimSpace(line)
		switch {
		case cur == nil && trimmed == "```go":
			cur = &strings.Builder{}
		case cur != nil && trimmed == "```":
			blocks = append(blocks, cur.String())
			cur = nil
		case cur != nil:
			cur.WriteString(line)
		}
	}
	return blocks
}

// mainProgram makes a block a whole program: as it is when it has a package clause, else its
// leading import declarations, then the rest as the body of main.
func mainProgram(block string) string {
	if strings.HasPrefix(strings.TrimSpace(block), "package ") {
		return block
	}
	var imports, body strings.Builder
	inImports, inGroup := true, false
	for line := range strings.Lines(block) {
		trimmed := strings.TrimSpace(line)
		switch {
		case inGroup:
			imports.WriteString(line)
			inGroup = trimmed != ")"
		case inImports && strings.HasPrefix(trimmed, "import ("):
			imports.WriteString(line)
			inGroup = true
		case inImports && (strings.HasPrefix(trimmed, "import ") || trimmed == ""):
			imports.WriteString(line)
		default:
			inImports = false
			body.WriteString(line)
		}
	}
	return "package main\n\n" + imports.String() + "\nfunc main() {\n" + body.String() + "}\n"
}

// A block without a package clause becomes a main program with its imports in front.
func TestReadmeMainProgram(t *testing.T) {
	got := mainProgram("import (\n\t\"fmt\"\n)\nimport \"os\"\n\nfmt.Println(os.Args)\n")
	want := "package main\n\nimport (\n\t\"fmt\"\n)\nimport \"os\"\n\n\nfunc main() {\nfmt.Println(os.Args)\n}\n"
	if got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if p := "package main\nfunc main() {}\n"; mainProgram(p) != p {
		t.Fatal("a whole program was changed")
	}
}
