// SPDX-License-Identifier: Apache-2.0

package client

import (
	"context"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
)

// MaxPageSize is the most entries the server returns in one page.
const MaxPageSize = 1000

// rawEntry is the part of an akashiv1.Entry a verifier needs: what the
// log committed to. The server's decoded rendering of the statement is
// skipped; the verifier decodes the payload itself.
type rawEntry struct {
	index    uint64
	header   []byte
	payload  []byte
	withheld string
}

// rawPage is a ListEntriesResponse read by rawCodec.
type rawPage struct {
	entries  []rawEntry
	treeSize uint64
}

// rawCodec marshals requests as protobuf and reads ListEntriesResponse
// into a rawPage without decoding the statements the server renders for
// reading, which a verifier never trusts and would otherwise pay to parse.
type rawCodec struct{}

func (rawCodec) Name() string { return "proto" }

func (rawCodec) Marshal(v any) ([]byte, error) { return proto.Marshal(v.(proto.Message)) }

// Unmarshal parses b (a fresh copy, which the page's slices keep).
func (rawCodec) Unmarshal(b []byte, v any) error {
	p, ok := v.(*rawPage)
	if !ok {
		return proto.Unmarshal(b, v.(proto.Message))
	}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		switch {
		case num == 1 && typ == protowire.BytesType:
			e, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return protowire.ParseError(n)
			}
			b = b[n:]
			re, err := parseRawEntry(e)
			if err != nil {
				return err
			}
			p.entries = append(p.entries, re)
		case num == 3 && typ == protowire.VarintType:
			x, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return protowire.ParseError(n)
			}
			b = b[n:]
			p.treeSize = x
		default:
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return protowire.ParseError(n)
			}
			b = b[n:]
		}
	}
	return nil
}

func parseRawEntry(b []byte) (rawEntry, error) {
	var e rawEntry
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return e, protowire.ParseError(n)
		}
		b = b[n:]
		switch {
		case num == 1 && typ == protowire.VarintType:
			x, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return e, protowire.ParseError(n)
			}
			e.index, b = x, b[n:]
		case (num == 3 || num == 6 || num == 7) && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return e, protowire.ParseError(n)
			}
			b = b[n:]
			switch num {
			case 3:
				e.header = v
			case 6:
				e.payload = v
			case 7:
				e.withheld = string(v)
			}
		default:
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return e, protowire.ParseError(n)
			}
			b = b[n:]
		}
	}
	return e, nil
}

// page fetches the entries [start, start+n) as raw entries. It checks that
// the server sent exactly those.
func (c *Client) page(ctx context.Context, start uint64, n int) (*rawPage, error) {
	cctx, cancel := c.callContext(ctx)
	defer cancel()
	p := new(rawPage)
	err := c.conn.Invoke(cctx, akashiv1.LedgerService_ListEntries_FullMethodName,
		&akashiv1.ListEntriesRequest{Start: start, PageSize: int32(n)}, p, grpc.ForceCodec(rawCodec{}))
	if err != nil {
		return nil, wrapStatus(err)
	}
	if len(p.entries) != n {
		return nil, fmt.Errorf("%w: asked for %d entries from %d, the server sent %d", ErrVerification, n, start, len(p.entries))
	}
	for k := range p.entries {
		if p.entries[k].index != start+uint64(k) {
			return nil, fmt.Errorf("%w: asked for entry %d, the server sent entry %d", ErrVerification, start+uint64(k), p.entries[k].index)
		}
		if p.entries[k].withheld == "" && p.entries[k].payload == nil {
			p.entries[k].payload = []byte{}
		}
	}
	return p, nil
}

// Entries calls f with the entries [start, end) in order, as the server
// sends them, unverified (the auditor verifies them). It stops at the
// first error f returns.
func (c *Client) Entries(ctx context.Context, start, end uint64, f func(e *akashiv1.Entry) error) error {
	for start < end {
		n := min(end-start, MaxPageSize)
		cctx, cancel := c.callContext(ctx)
		resp, err := c.ledger.ListEntries(cctx, &akashiv1.ListEntriesRequest{Start: start, PageSize: int32(n)})
		cancel()
		if err != nil {
			return wrapStatus(err)
		}
		if len(resp.GetEntries()) == 0 {
			return fmt.Errorf("%w: the server sent no entries from %d", ErrVerification, start)
		}
		for _, e := range resp.GetEntries() {
			if e.GetIndex() != start {
				return fmt.Errorf("%w: asked for entry %d, the server sent entry %d", ErrVerification, start, e.GetIndex())
			}
			if err := f(e); err != nil {
				return err
			}
			start++
			if start == end {
				break
			}
		}
	}
	return nil
}
