package authgear

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"sort"
	"strings"
	"testing"
)

// TestEveryMethodIsInMethodValues checks that methodValues takes the value of
// every method the package declares: one it leaves out may have its reflect
// type built by two requests at once under Yaegi (see yaegi.go), a race that
// the harness's interpreted test only sees on the paths it drives.
func TestEveryMethodIsInMethodValues(t *testing.T) {
	declared, taken := map[string]bool{}, map[string]bool{}
	fset := token.NewFileSet()
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv != nil {
				declared[receiverType(fd.Recv.List[0].Type)+"."+fd.Name.Name] = true
			}
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Name.Name == "methodValues" && fd.Recv == nil {
				addTaken(fd.Body, taken)
			}
		}
	}
	var missing []string
	for m := range declared {
		if !taken[m] {
			missing = append(missing, m)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("methodValues (yaegi.go) does not take %s", strings.Join(missing, ", "))
	}
}

// receiverType names a receiver's type, without its pointer.
func receiverType(e ast.Expr) string {
	if star, ok := e.(*ast.StarExpr); ok {
		e = star.X
	}
	if id, ok := e.(*ast.Ident); ok {
		return id.Name
	}
	return ""
}

// addTaken adds to taken "Type.method" for each method value in body, whose
// variables are declared as "v := &Type{}".
func addTaken(body *ast.BlockStmt, taken map[string]bool) {
	types := map[string]string{}
	ast.Inspect(body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt:
			if u, ok := n.Rhs[0].(*ast.UnaryExpr); ok {
				if lit, ok := u.X.(*ast.CompositeLit); ok {
					types[n.Lhs[0].(*ast.Ident).Name] = receiverType(lit.Type)
				}
			}
		case *ast.SelectorExpr:
			if id, ok := n.X.(*ast.Ident); ok && types[id.Name] != "" {
				taken[types[id.Name]+"."+n.Sel.Name] = true
			}
		}
		return true
	})
}
