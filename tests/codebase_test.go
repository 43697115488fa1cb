package tests

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// productFiles parses every Go file of the product: not tests, not the
// benchmark harness under bench/, not testdata.
func productFiles(t *testing.T) (*token.FileSet, map[string]*ast.File) {
	t.Helper()
	fset := token.NewFileSet()
	files := map[string]*ast.File{}
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != ".." && (name == "bench" || name == "testdata" || name == "tests" || strings.HasPrefix(name, ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		files[path] = f
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 50 {
		t.Fatalf("found only %d product files: is the walk starting at the module's root?", len(files))
	}
	return fset, files
}

// Functions short enough to read at once: none over 100 lines.
func TestNoLongFunctions(t *testing.T) {
	fset, files := productFiles(t)
	for path, f := range files {
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			if n := fset.Position(fn.End()).Line - fset.Position(fn.Pos()).Line + 1; n > 100 {
				t.Errorf("%s:%d: %s is %d lines long; split it (100 at most)", path, fset.Position(fn.Pos()).Line, fn.Name.Name, n)
			}
		}
	}
}

// No tuning for one machine in the product, and no unsafe: the scheduler
// and the garbage collector are the operator's to set, through GOMAXPROCS,
// GOGC and GOMEMLIMIT (docs/operations.md).
func TestNoRuntimeTuningOrUnsafe(t *testing.T) {
	banned := map[string]bool{"runtime.GOMAXPROCS": true, "runtime.SetDefaultGOMAXPROCS": true, "runtime.Gosched": true, "debug.SetGCPercent": true}
	fset, files := productFiles(t)
	for path, f := range files {
		for _, imp := range f.Imports {
			if imp.Path.Value == `"unsafe"` {
				t.Errorf("%s imports unsafe", path)
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if pkg, ok := sel.X.(*ast.Ident); ok && banned[pkg.Name+"."+sel.Sel.Name] {
				t.Errorf("%s: %s.%s tunes the runtime for one machine", fset.Position(sel.Pos()), pkg.Name, sel.Sel.Name)
			}
			return true
		})
	}
}

// The repository stands alone: nothing refers to documents it does not
// contain.
func TestNoReferencesToMissingDocuments(t *testing.T) {
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			if d != nil && d.IsDir() && strings.HasPrefix(d.Name(), ".") && path != ".." {
				return filepath.SkipDir
			}
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		// Spelled in parts, so that this file does not name them itself.
		for _, ref := range []string{"SPEC" + " §", "STYLE" + ".md", "../" + "shared"} {
			if strings.Contains(string(data), ref) {
				t.Errorf("%s refers to %q, which the repository does not contain", path, ref)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
