// SPDX-License-Identifier: Apache-2.0

package record

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/hdevalence/ed25519consensus"
	"google.golang.org/protobuf/proto"

	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
)

// Signing statements.
//
// Every log entry's payload is an akashiv1.SignedStatement: the exact bytes
// of an akashiv1.Statement, the id of the Ed25519 key that signed them and
// the signature over the signing message
//
//	"akashi signed statement v1\n" || origin || "\n" || statement bytes
//
// The origin is the log's checkpoint origin, so a signature made for one
// log fails in every other, and the fixed prefix keeps the message from
// being read as any other kind of signed message.
//
// Signatures are verified with ZIP-215 semantics
// (github.com/hdevalence/ed25519consensus), everywhere: one at a time by
// [VerifySignature] and in batches by [BatchVerifier], which accept exactly
// the same signatures, so the server, the SDK and every auditor agree on
// which statements are validly signed.

// signingPrefix starts every signing message.
const signingPrefix = "akashi signed statement v1\n"

// ErrSignature reports a signature that does not verify, or a key id that
// does not belong to the key.
var ErrSignature = errors.New("record: signature does not verify")

// KeyIDSize is the length of a key id in hex digits.
const KeyIDSize = 16

// KeyID returns a public key's id: the first 8 bytes of SHA-256 of the
// key, as 16 lowercase hex digits.
func KeyID(pub ed25519.PublicKey) string {
	h := sha256.Sum256(pub)
	return hex.EncodeToString(h[:KeyIDSize/2])
}

// ValidateKeyID checks the form of a key id.
func ValidateKeyID(id string) error {
	if len(id) != KeyIDSize {
		return &FieldError{Got: quote(id), Want: "16 lowercase hex digits", Err: ErrFormat}
	}
	for _, c := range []byte(id) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return &FieldError{Got: quote(id), Want: "16 lowercase hex digits", Err: ErrFormat}
		}
	}
	return nil
}

// SigningMessage returns the message that is signed for a statement in
// the log named origin.
func SigningMessage(origin string, statement []byte) []byte {
	return appendSigningMessage(make([]byte, 0, len(signingPrefix)+len(origin)+1+len(statement)), origin, statement)
}

func appendSigningMessage(m []byte, origin string, statement []byte) []byte {
	m = append(m, signingPrefix...)
	m = append(m, origin...)
	m = append(m, '\n')
	return append(m, statement...)
}

// StatementHash returns SHA-256 of a statement's bytes: the value the
// signer's next statement carries in its previous field.
func StatementHash(statement []byte) [32]byte { return sha256.Sum256(statement) }

// Sign serializes st deterministically and signs it for the log named
// origin with priv.
func Sign(priv ed25519.PrivateKey, origin string, st *akashiv1.Statement) (*akashiv1.SignedStatement, error) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("record: encoding statement: %w", err)
	}
	return SignBytes(priv, origin, b), nil
}

// SignBytes signs exact statement bytes.
func SignBytes(priv ed25519.PrivateKey, origin string, statement []byte) *akashiv1.SignedStatement {
	return &akashiv1.SignedStatement{
		Statement: statement,
		KeyId:     KeyID(priv.Public().(ed25519.PublicKey)),
		Signature: ed25519.Sign(priv, SigningMessage(origin, statement)),
	}
}

// VerifySignature checks that ss is signed by pub for the log named
// origin, and that its key id is pub's.
func VerifySignature(pub ed25519.PublicKey, origin string, ss *akashiv1.SignedStatement) error {
	if len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("%w: public key has %d bytes", ErrSignature, len(pub))
	}
	if ss.GetKeyId() != KeyID(pub) {
		return fmt.Errorf("%w: key id %q is not the id of the key (%s)", ErrSignature, ss.GetKeyId(), KeyID(pub))
	}
	if len(ss.GetSignature()) != ed25519.SignatureSize || !ed25519consensus.Verify(pub, SigningMessage(origin, ss.GetStatement()), ss.GetSignature()) {
		return fmt.Errorf("%w: key %s, log %q", ErrSignature, ss.GetKeyId(), origin)
	}
	return nil
}

// BatchVerifier verifies many statement signatures at once, faster than
// one at a time, with the same semantics as VerifySignature.
type BatchVerifier struct {
	origin string
	bv     ed25519consensus.BatchVerifier
	items  []batchItem
	msg    []byte // the signing message being added; bv keeps no reference to it
}

type batchItem struct {
	pub ed25519.PublicKey
	ss  *akashiv1.SignedStatement
	// wellFormed: the key and signature have their sizes and the key id is
	// the key's, so the statement was added to bv.
	wellFormed bool
}

// NewBatchVerifier returns a batch verifier for statements of the log
// named origin.
func NewBatchVerifier(origin string) *BatchVerifier {
	return &BatchVerifier{origin: origin, bv: ed25519consensus.NewBatchVerifier()}
}

// Add queues a statement to verify against pub.
func (b *BatchVerifier) Add(pub ed25519.PublicKey, ss *akashiv1.SignedStatement) {
	ok := len(pub) == ed25519.PublicKeySize && len(ss.GetSignature()) == ed25519.SignatureSize && ss.GetKeyId() == KeyID(pub)
	b.items = append(b.items, batchItem{pub, ss, ok})
	if ok {
		b.msg = appendSigningMessage(b.msg[:0], b.origin, ss.GetStatement())
		b.bv.Add(pub, b.msg, ss.GetSignature())
	}
}

// minBatch is the smallest batch worth verifying as one: a batch of one
// costs about twice a single verification, of two a fifth more, of three
// about as much, from four on less (BenchmarkBatchVerify in registry/).
const minBatch = 4

// Verify reports, for each statement added, in order, nil or the error
// VerifySignature would return. A batch that verifies as a whole costs one
// batch verification; otherwise, or when there are fewer than minBatch
// statements, each statement is verified alone.
func (b *BatchVerifier) Verify() []error {
	errs := make([]error, len(b.items))
	ok := len(b.items) > 0
	for _, it := range b.items {
		ok = ok && it.wellFormed
	}
	if ok && len(b.items) >= minBatch && b.bv.Verify() {
		return errs
	}
	for i, it := range b.items {
		errs[i] = VerifySignature(it.pub, b.origin, it.ss)
	}
	return errs
}
