// SPDX-License-Identifier: Apache-2.0

package record

import (
	"bytes"
	"crypto/ed25519"
	"testing"
)

// FuzzParsePublicKey: an agency's public key file reaches the operator
// from outside. Parsing never panics; a key it accepts is an Ed25519 key
// that encodes back to a file that parses to the same key.
func FuzzParsePublicKey(f *testing.F) {
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		f.Fatal(err)
	}
	pemPub, err := MarshalPublicKey(pub)
	if err != nil {
		f.Fatal(err)
	}
	pemPriv, err := MarshalPrivateKey(priv)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(pemPub)
	f.Add(pemPriv)
	f.Add([]byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if k, err := ParsePrivateKey(b); err == nil && len(k) != ed25519.PrivateKeySize {
			t.Fatalf("ParsePrivateKey accepted a %d-byte key", len(k))
		}
		k, err := ParsePublicKey(b)
		if err != nil {
			return
		}
		if len(k) != ed25519.PublicKeySize {
			t.Fatalf("ParsePublicKey accepted a %d-byte key", len(k))
		}
		again, err := MarshalPublicKey(k)
		if err != nil {
			t.Fatal(err)
		}
		if k2, err := ParsePublicKey(again); err != nil || !bytes.Equal(k, k2) {
			t.Fatalf("the key does not survive encoding: %v", err)
		}
	})
}
