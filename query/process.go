// SPDX-License-Identifier: Apache-2.0

package query

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
)

// Version is one version of a process.
type Version struct {
	Hit
	// Changed lists the fields that differ from the record it amends,
	// such as "disbursement.amount".
	Changed []string
}

// Process is a process compiled like an OCDS record.
type Process struct {
	Snapshot
	Publisher, ID string
	// Compiled is the latest version that is not a withdrawal.
	Compiled *akashiv1.Record
	// Withdrawn is true when the latest version is a withdrawal.
	Withdrawn           bool
	WithdrawalRationale string
	Versions            []Version
}

// Process returns a process's compiled state and versions.
func (e *Engine) Process(ctx context.Context, id, publisher string) (*Process, error) {
	d, err := e.dir()
	if err != nil {
		return nil, err
	}
	snap, err := e.Head(ctx)
	if err != nil {
		return nil, err
	}
	if publisher == "" {
		pubs, err := d.ProcessPublishers(id)
		if err != nil {
			return nil, err
		}
		switch len(pubs) {
		case 0:
			return nil, fmt.Errorf("%w: no process has id %q", ErrNotFound, id)
		case 1:
			publisher = pubs[0]
		default:
			return nil, bad("publisher", "", fmt.Sprintf("one of %q, which all have a process %q", pubs, id))
		}
	}
	vs, err := d.Versions(publisher, id)
	if err != nil {
		return nil, err
	}
	var rows []uint64
	for _, v := range vs {
		if v < snap.Size {
			rows = append(rows, v)
		}
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%w: %s has no process %q", ErrNotFound, publisher, id)
	}
	hits, err := e.Hits(ctx, snap, rows)
	if err != nil {
		return nil, err
	}
	p := &Process{Snapshot: snap, Publisher: publisher, ID: id}
	byID := map[string]*akashiv1.Record{}
	for _, h := range hits {
		v := Version{Hit: h}
		if r := h.Record; r != nil {
			if old := byID[r.GetAmends()]; old != nil {
				v.Changed = changedFields(old, r)
			}
			byID[r.GetId()] = r
			if r.GetTag() == akashiv1.Tag_TAG_WITHDRAWAL {
				p.Withdrawn, p.WithdrawalRationale = true, r.GetRationale()
			} else {
				p.Compiled, p.Withdrawn, p.WithdrawalRationale = r, false, ""
			}
		}
		p.Versions = append(p.Versions, v)
	}
	return p, nil
}

// changedFields lists the fields of b that differ from a, one level into
// the body; the envelope fields every version changes are left out.
func changedFields(a, b *akashiv1.Record) []string {
	skip := map[protoreflect.Name]bool{"id": true, "tag": true, "amends": true, "rationale": true, "recorded_at": true}
	var out []string
	ma, mb := a.ProtoReflect(), b.ProtoReflect()
	fields := mb.Descriptor().Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if skip[fd.Name()] {
			continue
		}
		if fd.ContainingOneof() != nil && fd.Message() != nil {
			if !ma.Has(fd) || !mb.Has(fd) {
				if ma.Has(fd) != mb.Has(fd) {
					out = append(out, string(fd.Name()))
				}
				continue
			}
			sa, sb := ma.Get(fd).Message(), mb.Get(fd).Message()
			sf := sb.Descriptor().Fields()
			for j := range sf.Len() {
				f := sf.Get(j)
				if !equalField(sa, sb, f) {
					out = append(out, string(fd.Name())+"."+string(f.Name()))
				}
			}
			continue
		}
		if !equalField(ma, mb, fd) {
			out = append(out, string(fd.Name()))
		}
	}
	return out
}

func equalField(a, b protoreflect.Message, fd protoreflect.FieldDescriptor) bool {
	if a.Has(fd) != b.Has(fd) {
		return false
	}
	if !a.Has(fd) {
		return true
	}
	va, vb := a.Get(fd), b.Get(fd)
	switch {
	case fd.IsList():
		la, lb := va.List(), vb.List()
		if la.Len() != lb.Len() {
			return false
		}
		for i := range la.Len() {
			if fd.Message() != nil {
				if !proto.Equal(la.Get(i).Message().Interface(), lb.Get(i).Message().Interface()) {
					return false
				}
			} else if !la.Get(i).Equal(lb.Get(i)) {
				return false
			}
		}
		return true
	case fd.Message() != nil:
		return proto.Equal(va.Message().Interface(), vb.Message().Interface())
	}
	return va.Equal(vb)
}
