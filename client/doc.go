// SPDX-License-Identifier: Apache-2.0

// Package client is the Go SDK of Akashi: agencies publish with it, and
// auditors and monitors check a log with it, trusting nothing but the
// log's verifier key. It imports the generated API (gen/akashi/v1), the
// schema's rules (record), the registry's rules (registry) and the
// verification code (ledger/verify); never storage or the server.
//
// # Connecting
//
// [Dial] connects to a log's gRPC endpoint and pins its checkpoint
// verifier key ([Options].VerifierKey, in signed-note format as
// `akashi log` prints it): the server must publish that key, and every
// checkpoint the client accepts must carry a valid signature by it.
// Options set TLS and timeouts. Every answer the client turns into a
// result is verified first; the raw services are still reachable
// ([Client.Ledger], [Client.Registry]).
//
// # Publishing
//
// Records are built with [NewDecision], [NewRequest] and
// [NewDisbursement] (or as akashiv1.Record values), which run the same
// validation as the server ([record.ValidateRecord]). A payee who is a
// natural person is made with [NewPersonal]: the record gets an opaque id
// and SHA-256(salt ‖ personal data); the salt is returned to the agency
// and never sent.
//
// A [Signer] holds an agency's key ([OpenSigner] reads the PEM file that
// `akashi keygen` writes). Each statement carries the key's next sequence
// number and the hash of its previous statement. [Signer.Append] signs,
// appends and verifies the receipt — the checkpoint's signature with the
// pinned key, the inclusion proof, the header, leaf and chain hashes, the
// payload digest — before returning it. [Signer.AppendAll] streams many
// records over one AppendRecords stream with a bounded window of
// statements in flight, verifying receipts on all cores.
//
// The signer's state file ([SignerOptions].StateFile) is replaced
// atomically (temporary file, fsync, rename, fsync of the folder) before
// each statement is sent, and holds the statements not yet acknowledged.
// After a crash, [NewSigner] resubmits their exact bytes, and the log
// answers with the original receipts; a statement refused is rolled back.
// The signer then continues from where the log says its chain stands
// (GetSigner), so a lost or stale state file is repaired, while a log that
// no longer holds a statement it acknowledged is [ErrRewound]. Appending
// a record the log already holds, identical, returns its entry's receipt
// marked Existing, so a resumed import stores nothing twice.
//
// # Checking
//
// [Receipt.Verify] checks a receipt offline, with the verifier alone;
// receipts are saved as JSON ([Receipt.Marshal], [ParseReceipt]).
// [Client.Entry] and [Client.Record] fetch an entry and check its
// payload, signature and inclusion in the latest checkpoint;
// [Client.ProveInclusion] and [Client.ProveConsistency] fetch and verify
// proofs.
//
// An [Auditor] verifies the whole log: every header and chain link,
// payload digest, statement encoding and validity, every signature under
// the key the registry allowed at that index, every signer's sequence, the
// registry's rules (replayed with registry.Memory), the tree root against
// the latest checkpoint and that checkpoint's consistency with the one the
// previous run verified. Its state file keeps verify.AuditorState, the
// registry and the last verified checkpoint, so each run checks only what
// is new and an interrupted run resumes. Decoding and hashing run on all
// cores and signatures are verified in batches ([record.BatchVerifier]).
// Every failure is reported with its entry's index ([Failure]).
//
// A [Monitor] polls the latest checkpoint and proves each new one
// consistent with the last; a checkpoint that goes backwards or does not
// extend the last is an [Alarm], with both signed checkpoints as evidence.
// With other endpoints of the same log ([MonitorOptions].Others, or
// [CompareViews]) it also catches a split view: a log showing different
// histories to different readers.
//
// [Client.WriteBundle] exports the log up to a checkpoint as NDJSON, and
// [VerifyBundle] checks such a bundle offline as the auditor checks the log.
//
// # Errors
//
// Errors wrap a sentinel: [ErrLogKey], [ErrVerification],
// [ErrInconsistent], [ErrRollback], [ErrSplitView], [ErrRefused] (a
// [*RefusedError] with the gRPC code and the server's message, which names
// the field at fault), [ErrUnknownOutcome], [ErrNotRegistered],
// [ErrRewound], [ErrState]; or a record validation error.
package client
