// SPDX-License-Identifier: Apache-2.0

package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// Files the CLI writes for itself (keys, the import's progress) are
// written whole or not at all: through a synced temporary file moved into
// place, then the folder synced, so that a process killed on the way never
// leaves a partial file that would stop every later start.

// writeFileExcl creates a file readable by its owner only; it never
// overwrites one. The temporary file is linked into place (a link, unlike
// a rename, fails if the file exists), so a kill leaves no file, or a
// stray temporary one, but never a partial key.
func writeFileExcl(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if err := writeAndClose(tmp, data); err != nil {
		return err
	}
	// A file system without links gets the file written in place.
	if err := os.Link(tmp.Name(), path); errors.Is(err, fs.ErrExist) {
		return err
	} else if err != nil {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return err
		}
		return writeAndClose(f, data)
	}
	return syncDir(dir)
}

// writeAtomic replaces a file: a temporary file, synced, renamed over it.
func writeAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if err := writeAndClose(f, data); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

// writeAndClose writes data to f, syncs it and closes it.
func writeAndClose(f *os.File, data []byte) error {
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// syncDir makes the entries of a folder durable, where the file system
// can sync a folder (some refuse with EINVAL).
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, errors.ErrUnsupported) {
		return err
	}
	return nil
}
