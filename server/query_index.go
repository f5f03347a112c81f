// SPDX-License-Identifier: Apache-2.0

package server

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/akashi-ledger/akashi/ledger"
	"github.com/akashi-ledger/akashi/query"
)

// directory is the query engine's view of the server's record index (see
// index.go) and registry (registry.go).
type directory struct{ log *ledger.Log }

var _ query.Directory = directory{}

// Publishers implements query.Resolver.
func (d directory) Publishers(id string) ([]string, error) {
	var pubs []string
	prefix := append(joinKey(idxRecord, id), 0)
	err := d.log.IndexScan(prefix, func(k, _ []byte) (bool, error) {
		if p, ok := bytes.CutPrefix(k, prefix); ok {
			pubs = append(pubs, string(p))
		}
		return len(pubs) < 100, nil
	})
	return pubs, err
}

// Record implements query.Directory.
func (d directory) Record(publisher, id string) (uint64, string, bool, error) {
	b, err := d.log.IndexGet(recordKey(publisher, id))
	if errors.Is(err, ledger.ErrNotFound) {
		return 0, "", false, nil
	}
	if err != nil {
		return 0, "", false, err
	}
	ri, err := decodeRecordInfo(b)
	if err != nil {
		return 0, "", false, err
	}
	return ri.index, ri.process, true, nil
}

// Versions implements query.Directory.
func (d directory) Versions(publisher, process string) ([]uint64, error) {
	b, err := d.log.IndexGet(processKey(publisher, process))
	if errors.Is(err, ledger.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if len(b)%8 != 0 {
		return nil, fmt.Errorf("%w: process index of %d bytes", ledger.ErrCorrupt, len(b))
	}
	out := make([]uint64, 0, len(b)/8)
	for i := 0; i < len(b); i += 8 {
		out = append(out, binary.BigEndian.Uint64(b[i:]))
	}
	return out, nil
}

// ProcessPublishers implements query.Directory: it asks every registered
// agency.
func (d directory) ProcessPublishers(process string) ([]string, error) {
	var agencies []string
	err := d.log.IndexScan([]byte{idxAgencyKey}, func(k, _ []byte) (bool, error) {
		a, _, _ := bytes.Cut(k[1:], []byte{0})
		if len(agencies) == 0 || agencies[len(agencies)-1] != string(a) {
			agencies = append(agencies, string(a))
		}
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, a := range agencies {
		if _, err := d.log.IndexGet(processKey(a, process)); err == nil {
			out = append(out, a)
		} else if !errors.Is(err, ledger.ErrNotFound) {
			return nil, err
		}
	}
	return out, nil
}
