// SPDX-License-Identifier: Apache-2.0

package ledger

import (
	"fmt"
	"log/slog"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// Defaults for Options. Zero fields of an Options value take these.
const (
	// DefaultMaxBatchSize bounds the number of entries committed in one
	// Badger transaction.
	DefaultMaxBatchSize = 1024
	// DefaultMaxBatchBytes bounds the payload bytes committed in one
	// transaction; it must stay well below Badger's transaction limit
	// (15% of the memtable size).
	DefaultMaxBatchBytes = 2 << 20
	// DefaultMaxBatchDelay is the longest the sequencer keeps gathering
	// appends that are still arriving before it seals a batch while the
	// store is idle; it seals as soon as they stop coming. Batches also form
	// from the appends that arrive while the previous batch is being made
	// durable (group commit). A negative value means never wait.
	DefaultMaxBatchDelay = time.Millisecond
	// DefaultMaxPending bounds the appends queued for the sequencer; beyond
	// it Append fails fast with ErrPushback.
	DefaultMaxPending = 8192
	// DefaultMaxQueueDelay bounds how long admitted appends wait in the
	// queue: beyond the appends the log commits in that time, at the rate
	// it has been committing, Append fails fast with ErrPushback, so that
	// the appends it admits keep a bounded latency under any load. (With
	// 100 ms and the server's MinQueue, admitted unary appends at three
	// times capacity waited about twice as long at the median; see
	// docs/BENCHMARKS.md.)
	DefaultMaxQueueDelay = 50 * time.Millisecond
	// DefaultMinQueue is the fewest appends Admit lets wait, whatever the
	// measured commit rate: that rate is what arrived lately, which under
	// a light load says nothing of what the log could commit, and a crowd
	// of callers arriving at an idle log must not be refused.
	DefaultMinQueue = 512
	// DefaultMaxPendingBytes bounds the payload bytes queued for the sequencer.
	DefaultMaxPendingBytes = 64 << 20
	// DefaultMaxPayloadSize bounds one payload.
	DefaultMaxPayloadSize = 1 << 20
	// DefaultTileCacheSize is the number of full tiles, with their inner
	// tree levels (16 KiB each), kept in memory for proofs: all the tiles of
	// a log of a million entries. Only reads fill it.
	DefaultTileCacheSize = 4096
	// DefaultGCInterval is how often Badger's value log is garbage collected.
	DefaultGCInterval = 10 * time.Minute
	// DefaultMemTableSize is Badger's memtable size. With DefaultNumMemtables
	// it bounds the memory that buffered writes use.
	DefaultMemTableSize = 16 << 20
	// DefaultNumMemtables is the number of memtables Badger keeps: the one
	// being written and one being flushed (a third holds another
	// MemTableSize of memory and bought no measurable throughput;
	// docs/BENCHMARKS.md).
	DefaultNumMemtables = 2
	// DefaultBlockCacheSize is the size of Badger's block cache.
	DefaultBlockCacheSize = 16 << 20
	// DefaultValueLogFileSize is the size of Badger's value-log files. They
	// are memory-mapped, and the pages written to the active one stay
	// resident until it is rotated, so small files keep the resident set
	// small whatever the size of the log.
	DefaultValueLogFileSize = 32 << 20
	// DefaultIndexCacheSize bounds the memory Badger gives the indexes and
	// bloom filters of its tables, which otherwise grows with the log.
	DefaultIndexCacheSize = 16 << 20
	// DefaultMinFreeSpace is the free disk space below which the log
	// refuses appends (ErrStorage) instead of writing: Badger writes through
	// memory maps, and a write into a full disk through a memory map is not
	// an error but a crash (SIGBUS).
	DefaultMinFreeSpace = 256 << 20
	// DefaultValueThreshold is the value size from which Badger keeps values
	// in its value log rather than in the LSM tree: payloads, tiles and entry
	// bundles go to the value log, keys and small values stay in the LSM
	// tree, which keeps compaction cheap (measured in docs/BENCHMARKS.md).
	DefaultValueThreshold = 512
)

// Options configure a Log. Origin, Signer and Verifier are required; every
// other field has a default, documented with its Default* constant.
type Options struct {
	// Origin is the log's name, the first line of every checkpoint, such as
	// "akashi.example.jp/ledger". It must equal the signer's key name.
	Origin string
	// Signer signs checkpoints: an Ed25519 signed-note key named Origin.
	Signer note.Signer
	// Verifier is the public half of Signer. Open uses it to check the
	// checkpoints it finds, so a store written with another key is refused.
	Verifier note.Verifier

	MaxBatchSize     int
	MaxBatchBytes    int
	MaxBatchDelay    time.Duration
	MaxPending       int
	MaxPendingBytes  int
	MaxQueueDelay    time.Duration
	MinQueue         int
	MaxPayloadSize   int
	TileCacheSize    int
	GCInterval       time.Duration
	MemTableSize     int64
	NumMemtables     int
	BlockCacheSize   int64
	ValueThreshold   int64
	ValueLogFileSize int64
	IndexCacheSize   int64
	MinFreeSpace     int64

	// BatchInterval, when positive, keeps a batch of two appends or more
	// open until that long after the previous batch was sealed, so that
	// appends arriving one by one from independent clients (a server's)
	// are committed in fewer, larger batches: every commit costs Badger
	// two synced writes of its memory-mapped files, whatever its size, and
	// at a moderate steady rate back-to-back small commits take CPU that
	// the clients' requests need. It adds up to BatchInterval to those
	// appends' latency; a lone caller (a batch of one) is never held.
	// Zero or negative: batches are sealed as soon as the store is free,
	// which suits callers that wait for their receipts before appending
	// again (they all come back at once).
	BatchInterval time.Duration

	// Hook, if set, takes part in sequencing: it may refuse entries and
	// writes index keys in their batch's transaction. See Hook.
	Hook Hook

	// OnCommit, if set, is called by the committer after each batch is
	// durable, with its number of entries, its payload bytes and the time
	// its commit took (for metrics). It must not block.
	OnCommit func(entries, bytes int, took time.Duration)

	// Now is the clock used for integration times; time.Now when nil.
	// Integration times never go backwards, whatever the clock does.
	Now func() time.Time
	// Logger receives the log's and Badger's messages; slog.Default when nil.
	Logger *slog.Logger
}

// withDefaults returns o with zero fields set to their defaults, or an
// error naming the first field that cannot be used.
func (o Options) withDefaults() (Options, error) {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&o.MaxBatchSize, DefaultMaxBatchSize)
	def(&o.MaxBatchBytes, DefaultMaxBatchBytes)
	def(&o.MaxPending, DefaultMaxPending)
	def(&o.MaxPendingBytes, DefaultMaxPendingBytes)
	def(&o.MaxPayloadSize, DefaultMaxPayloadSize)
	def(&o.TileCacheSize, DefaultTileCacheSize)
	def(&o.NumMemtables, DefaultNumMemtables)
	switch {
	case o.MaxBatchDelay == 0:
		o.MaxBatchDelay = DefaultMaxBatchDelay
	case o.MaxBatchDelay < 0:
		o.MaxBatchDelay = 0
	}
	if o.GCInterval == 0 {
		o.GCInterval = DefaultGCInterval
	}
	if o.MaxQueueDelay == 0 {
		o.MaxQueueDelay = DefaultMaxQueueDelay
	}
	if o.MinQueue == 0 {
		o.MinQueue = DefaultMinQueue
	}
	if o.MemTableSize == 0 {
		o.MemTableSize = DefaultMemTableSize
	}
	if o.ValueLogFileSize == 0 {
		o.ValueLogFileSize = DefaultValueLogFileSize
	}
	if o.IndexCacheSize == 0 {
		o.IndexCacheSize = DefaultIndexCacheSize
	}
	if o.MinFreeSpace == 0 {
		o.MinFreeSpace = DefaultMinFreeSpace
	}
	if o.ValueThreshold == 0 {
		o.ValueThreshold = DefaultValueThreshold
	}
	if o.BlockCacheSize == 0 {
		o.BlockCacheSize = DefaultBlockCacheSize
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	bad := func(field string, got any, want string) (Options, error) {
		return Options{}, fmt.Errorf("%w: %s: got %v, want %s", ErrInvalidOptions, field, got, want)
	}
	switch {
	case o.Origin == "":
		return bad("Origin", `""`, "the log's name")
	case o.Signer == nil:
		return bad("Signer", "nil", "an Ed25519 signed-note signer")
	case o.Verifier == nil:
		return bad("Verifier", "nil", "the signer's verifier")
	case o.Signer.Name() != o.Origin:
		return bad("Signer", "key named "+o.Signer.Name(), "a key named after the origin "+o.Origin)
	case o.Verifier.Name() != o.Signer.Name() || o.Verifier.KeyHash() != o.Signer.KeyHash():
		return bad("Verifier", o.Verifier.Name(), "the verifier of the signer's key")
	case o.MaxBatchSize < 0:
		return bad("MaxBatchSize", o.MaxBatchSize, "> 0")
	case o.MaxPending < 0:
		return bad("MaxPending", o.MaxPending, "> 0")
	case o.MaxPayloadSize < 0:
		return bad("MaxPayloadSize", o.MaxPayloadSize, "> 0")
	case o.MaxPendingBytes < o.MaxPayloadSize:
		return bad("MaxPendingBytes", o.MaxPendingBytes, fmt.Sprintf(">= MaxPayloadSize (%d)", o.MaxPayloadSize))
	case o.MaxBatchBytes < o.MaxPayloadSize:
		return bad("MaxBatchBytes", o.MaxBatchBytes, fmt.Sprintf(">= MaxPayloadSize (%d)", o.MaxPayloadSize))
	case o.TileCacheSize < 0:
		return bad("TileCacheSize", o.TileCacheSize, ">= 0")
	case o.MaxQueueDelay < 0:
		return bad("MaxQueueDelay", o.MaxQueueDelay, "> 0")
	case o.MinQueue < 0:
		return bad("MinQueue", o.MinQueue, "> 0")
	case o.GCInterval < 0:
		return bad("GCInterval", o.GCInterval, "> 0")
	case o.NumMemtables < 1:
		return bad("NumMemtables", o.NumMemtables, ">= 1")
	case o.MinFreeSpace < 0:
		return bad("MinFreeSpace", o.MinFreeSpace, ">= 0")
	case o.BlockCacheSize < 0:
		return bad("BlockCacheSize", o.BlockCacheSize, ">= 0")
	}
	// Badger refuses a transaction over 15% of its memtable; one payload
	// with what a batch writes besides must always fit (the sequencer cuts
	// batches to fit, see txnCost).
	if need := int64(o.MaxPayloadSize) + sealReserve(o) + maxIndexCost; need > o.MemTableSize*15/100 {
		return bad("MemTableSize", o.MemTableSize, fmt.Sprintf(">= %d for payloads of %d bytes", need*100/15+1, o.MaxPayloadSize))
	}
	return o, nil
}

// sealCount bounds the keys sealing a batch adds to its transaction (its
// payload group is one of them).
func sealCount(o Options) int64 { return int64(o.MaxBatchSize/256+2)*2 + 8 + 3 }

// sealReserve bounds what sealing a batch adds to its transaction, by
// Badger's accounting: the level-0 tiles and entry bundles a batch of
// MaxBatchSize entries can touch, one tile per higher level, the
// checkpoint and the state.
func sealReserve(o Options) int64 {
	const tileAndBundle = 32*256 + 256*(2+83) + 2*64
	return int64(o.MaxBatchSize/256+2)*tileAndBundle + 8*(32*256+64) + 4096
}
