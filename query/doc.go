// SPDX-License-Identifier: Apache-2.0

// Package query is Akashi's journalists' index and query engine: search
// by filters and text, sorting and stable pagination, following the money,
// aggregations, bulk exports with proofs, and feeds.
//
// # Guarantees
//
// The indexes are derived from the log after the fact by a [Follower]: a
// goroutine that waits for the log to grow, reads the new entries in
// chunks, inverts each chunk in memory (one write per term per chunk, not
// per record) and commits its keys together with its watermark, the tree
// size the index reflects, in one transaction of the ledger's store. So
// the index is always whole, it lags the log by about
// [DefaultGather] when the log is busy, it costs the sequencer (and so the
// append path) nothing but the disk and processor time it shares, and it
// resumes from its watermark after a restart; deleting it rebuilds it from
// the log. Chunks end at tree sizes the log published a checkpoint for.
//
// Every answer of [Engine] is computed for one published tree size, the
// latest the index covers, which it states with the signed checkpoint of
// that size: it contains exactly the records below that size that match,
// whatever is appended or indexed meanwhile (readers cut every list they
// read at that size). A page token keeps the tree size of its first page.
//
// # Key layout
//
// All keys live in the ledger's index namespace and start with 'q'
// (the server's own index uses other first bytes). Integers are big-endian.
//
//	'q' 't' term 0x00 'S' first:4          posting segment (see postings.go)
//	'q' 't' term 0x00 'T'                  posting head: segment directory and tail
//	'q' 'f' block:4                        fact rows of 256 log indexes (see facts.go)
//	'q' 'P' title-term                     a programme title whose tokens are written → the title
//	'q' 'p' token 0x00 title-term          the title holds the text token
//	'q' 'w'                                watermark: version:1 (3), size:8, answer:8 (see [Follower])
//
// A term is a field byte and a value. Values of the fields marked fixed
// have a fixed length, so that a range of them is a range of keys (a
// range of days, of amounts); the other values never hold 0x00:
//
//	'k' kind:1            record kind (record.Kind), fixed
//	'g' tag:1             record tag (akashiv1.Tag), fixed
//	'p' org-id            publisher
//	'j' code              jurisdiction (local government code)
//	'J' nn                jurisdiction's prefecture number (2 digits)
//	'a' code              an area of the record: decision areas, request
//	                      addressee areas, disbursement payee area
//	'A' nn                an area's prefecture number
//	'm' code              disbursement programme code
//	'M' hash              disbursement programme title: 24 hex digits of
//	                      its SHA-256. The title's text tokens are not
//	                      indexed with each disbursement: the directory
//	                      'q' 'p' maps each token to the titles that hold
//	                      it, and a text query for a token reads the
//	                      token's list and those of its titles
//	'y' id                disbursement payee (org-id or personal payee id)
//	'l' law id            legal basis
//	'r' publisher/id      a record this one cites (basis_decision,
//	                      related_request, related)
//	'x' type:1            disbursement transaction type, fixed
//	'e' YYYY-MM-DD        effective date, fixed
//	'c' YYYY-MM-DD        recorded date (in Japan), fixed
//	'v' currency:3 digits:1 lead:1 inexact:1
//	                      amount bucket, fixed: amounts with the same number
//	                      of digits and the same two leading digits; inexact
//	                      0 holds the amounts equal to lead·10^(digits-2)
//	'w' token             a text token (see text.go) of a decision's or
//	                      request's title and description, or of a
//	                      disbursement's payee name
//	'!'                   the record is not fully indexed (it has more
//	                      terms than [MaxTermsPerRecord]); queries check
//	                      such records one by one
//
// Filters on dates and amounts read the ranges of their terms; sorting by
// date or amount walks the terms of the field in order (or reverse) from
// the cursor's, so that a page reads only the groups it shows.
//
// # Bounded transactions
//
// A chunk's transaction holds its records' fact rows, one head per term
// it touches (and the segments it seals), the merges that are due and fit,
// and the watermark. The follower keeps it under half of Badger's limits
// (ledger.Log.MaxIndexTxnCount and MaxIndexTxnBytes), halving the chunk
// when it would not fit; a record has at most [MaxTermsPerRecord] terms.
package query

// Key prefixes.
const (
	prefixQuery   = 'q'
	tagTerm       = 't'
	tagFact       = 'f'
	tagStats      = 's'
	tagTitleMark  = 'P'
	tagTitleToken = 'p'
	tagWatermark  = 'w'
)

// Term fields.
const (
	fieldKind      = 'k'
	fieldTag       = 'g'
	fieldPublisher = 'p'
	fieldJur       = 'j'
	fieldJurPref   = 'J'
	fieldArea      = 'a'
	fieldAreaPref  = 'A'
	fieldProgramme = 'm'
	fieldTitle     = 'M'
	fieldPayee     = 'y'
	fieldLaw       = 'l'
	fieldRef       = 'r'
	fieldTT        = 'x'
	fieldEff       = 'e'
	fieldRec       = 'c'
	fieldAmount    = 'v'
	fieldText      = 'w'
	fieldOverflow  = '!'
)

// fixedLength reports whether the values of a field have a fixed length.
func fixedLength(field byte) bool {
	switch field {
	case fieldKind, fieldTag, fieldTT, fieldEff, fieldRec, fieldAmount:
		return true
	}
	return false
}
