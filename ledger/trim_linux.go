// SPDX-License-Identifier: Apache-2.0

package ledger

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// trimMappedFiles releases the pages of Badger's closed value-log files
// and of its tables from the process's resident set.
//
// Badger keeps every value-log file and every table memory-mapped, and the
// pages written through the maps stay resident long after, so without
// this the resident set would grow with the size of the log. Dropping
// pages of a shared file mapping from the process's page tables
// (MADV_DONTNEED) loses nothing — the data is in the page cache or on disk,
// and a later read faults it in again — and table reads go through
// Badger's block cache first. The active (newest) value-log file, being
// written, is left alone.
func trimMappedFiles(dir string) {
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return
	}
	defer f.Close()
	type span struct{ start, end uintptr }
	spans := map[int][]span{} // by value-log file id
	var tables []span
	newest := -1
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || filepath.Dir(fields[5]) != dir {
			continue
		}
		lo, hi, ok := strings.Cut(fields[0], "-")
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if !ok || err1 != nil || err2 != nil {
			continue
		}
		s := span{uintptr(start), uintptr(end)}
		switch name := filepath.Base(fields[5]); filepath.Ext(name) {
		case ".sst":
			tables = append(tables, s)
		case ".vlog":
			id, err := strconv.Atoi(strings.TrimSuffix(name, ".vlog"))
			if err != nil {
				continue
			}
			spans[id] = append(spans[id], s)
			newest = max(newest, id)
		}
	}
	for _, s := range tables {
		syscall.Syscall(syscall.SYS_MADVISE, s.start, s.end-s.start, syscall.MADV_DONTNEED)
	}
	for id, ss := range spans {
		if id == newest {
			continue
		}
		for _, s := range ss {
			syscall.Syscall(syscall.SYS_MADVISE, s.start, s.end-s.start, syscall.MADV_DONTNEED)
		}
	}
}
