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

// trimMappedFiles releases the pages of Badger's memory-mapped files — its
// value-log files, tables and memtable write-ahead logs — from the
// process's resident set.
//
// Badger keeps every value-log file and every table memory-mapped, and
// writes values and memtables by copying them into maps, so the pages
// written or read through the maps stay resident long after; without this
// the resident set would grow with the size of the log and hold up to a
// whole value-log file and two memtable logs besides. Dropping pages of a
// shared file mapping from the process's page tables (MADV_DONTNEED) loses
// nothing, also for the file being written: a page written through the
// map is dirty in the page cache, not in the process, and is written back
// and synced as before; a later read or write faults it in again. Table
// reads go through Badger's block cache first.
func trimMappedFiles(dir string) {
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || filepath.Dir(fields[5]) != dir {
			continue
		}
		switch filepath.Ext(fields[5]) {
		case ".sst", ".vlog", ".mem":
		default:
			continue
		}
		lo, hi, ok := strings.Cut(fields[0], "-")
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if !ok || err1 != nil || err2 != nil {
			continue
		}
		syscall.Syscall(syscall.SYS_MADVISE, uintptr(start), uintptr(end-start), syscall.MADV_DONTNEED)
	}
}
