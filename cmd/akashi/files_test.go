// SPDX-License-Identifier: Apache-2.0

package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestWriteFileExcl checks that key files are created whole, owner-only,
// never over an existing file, and without leaving temporary files.
func TestWriteFileExcl(t *testing.T) {
	for _, tc := range []struct {
		name     string
		existing []byte // the file's content before, nil for none
		wantErr  error
	}{
		{"new file", nil, nil},
		{"existing file", []byte("the old key\n"), fs.ErrExist},
		{"existing empty file", []byte{}, fs.ErrExist},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "log.key")
			if tc.existing != nil {
				if err := os.WriteFile(path, tc.existing, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			err := writeFileExcl(path, []byte("the new key\n"))
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("writeFileExcl = %v, want %v", err, tc.wantErr)
			}
			got, rerr := os.ReadFile(path)
			if rerr != nil {
				t.Fatal(rerr)
			}
			want := "the new key\n"
			if tc.existing != nil {
				want = string(tc.existing)
			}
			if string(got) != want {
				t.Errorf("file holds %q, want %q", got, want)
			}
			if fi, err := os.Stat(path); err != nil || (tc.existing == nil && fi.Mode().Perm() != 0o600) {
				t.Errorf("mode %v (%v), want 0600", fi.Mode().Perm(), err)
			}
			ents, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(ents) != 1 {
				var names []string
				for _, e := range ents {
					names = append(names, e.Name())
				}
				t.Errorf("folder holds %q, want only log.key", names)
			}
		})
	}
	if err := writeFileExcl(filepath.Join(t.TempDir(), "missing", "log.key"), []byte("k")); err == nil {
		t.Error("writeFileExcl into a missing folder succeeded")
	}
}
