// SPDX-License-Identifier: Apache-2.0

// Package query is Akashi's journalists' index and query engine: search
// by filters and text, sorting and stable pagination, following the money,
// aggregations, bulk exports with proofs, and feeds.
//
// # Guarantees
//
// The indexes are written by [Indexer], which the server's ledger hook
// calls for every entry in log order: its keys go into the same Badger
// transaction as the entries (ledger.Hook), so they are never out of step
// with the log, and replaying the log rebuilds them. Every answer of
// [Engine] is computed for one published tree size, which it states with
// the signed checkpoint of that size: it contains exactly the records
// below that size that match, whatever is appended meanwhile.
//
// # Key layout
//
// All keys live in the ledger's index namespace and start with 'q'
// (the server's own index uses other first bytes). Integers are big-endian.
//
//	'q' 't' term 0x00 'C' group:4 slot:1   posting chunk (see postings.go)
//	'q' 't' term 0x00 'B' group:4          posting big block
//	'q' 'f' block:4                        fact rows of 256 log indexes (see facts.go)
//	'q' 's'                                stats: the range of days seen (see indexer.go)
//
// A term is a field byte and a value (which never holds 0x00):
//
//	'k' kind:1            record kind (record.Kind)
//	'g' tag:1             record tag (akashiv1.Tag)
//	'p' org-id            publisher
//	'j' code              jurisdiction (local government code)
//	'J' nn                jurisdiction's prefecture number (2 digits)
//	'a' code              an area of the record: decision areas, request
//	                      addressee areas, disbursement payee area
//	'A' nn                an area's prefecture number
//	'm' code              disbursement programme code
//	'y' id                disbursement payee (org-id or personal payee id)
//	'l' law id            legal basis
//	'r' publisher/id      a record this one cites (basis_decision,
//	                      related_request, related)
//	'x' type:1            disbursement transaction type
//	'e' YYYY-MM-DD        effective date
//	'c' YYYY-MM-DD        recorded date (in Japan)
//	'v' currency:3 digits:1 lead:1 inexact:1
//	                      amount bucket: amounts with the same number of
//	                      digits and the same two leading digits; inexact 0
//	                      holds the amounts equal to lead·10^(digits-2)
//	'w' token             a text token (see text.go)
//	'!'                   the record is not fully indexed (it has more
//	                      terms than [MaxTermsPerRecord]); queries check
//	                      such records one by one
//
// # Bounded transactions
//
// An append rewrites one chunk (at most 32 bytes) per term of the record,
// and one fact block; Badger counts every write of a transaction against
// its limits (about 52,000 writes and 4.8 MB for a 32 MiB memtable), so a
// record gets at most [MaxTermsPerRecord] terms: with the ledger's batches
// of at most 1024 entries this keeps a batch's index writes well inside
// the limits. A record with more terms is marked '!' and still found.
package query

// Key prefixes.
const (
	prefixQuery = 'q'
	tagTerm     = 't'
	tagFact     = 'f'
	tagStats    = 's'
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
