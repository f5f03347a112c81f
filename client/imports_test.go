// SPDX-License-Identifier: Apache-2.0

package client_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImports keeps the SDK's walls standing: it never depends on storage
// or the server, whose word it does not take.
func TestImports(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/akashi-ledger/akashi/client").CombinedOutput()
	if err != nil {
		t.Skipf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, bad := range []string{"github.com/dgraph-io/badger", "github.com/akashi-ledger/akashi/server", "github.com/akashi-ledger/akashi/ledger"} {
			if (dep == bad || strings.HasPrefix(dep, bad+"/")) && dep != "github.com/akashi-ledger/akashi/ledger/verify" {
				t.Errorf("package client depends on %s", dep)
			}
		}
	}
}
