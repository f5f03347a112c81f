// SPDX-License-Identifier: Apache-2.0

package client

import (
	"crypto/ed25519"

	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
)

// Governance actions, which a [Signer] of the log's governance key applies
// with [Signer.Govern].

// RegisterKey returns the action that lets pub write for agency from the
// next entry on. Rotating an agency's key is registering the new key and
// revoking the old one.
func RegisterKey(agency *akashiv1.Organization, pub ed25519.PublicKey, label string) *akashiv1.GovernanceAction {
	return &akashiv1.GovernanceAction{Action: &akashiv1.GovernanceAction_RegisterKey{RegisterKey: &akashiv1.RegisterKey{
		Agency: agency, PublicKey: pub, Label: label,
	}}}
}

// RevokeKey returns the action that ends a key's right to write.
func RevokeKey(keyID, reason string) *akashiv1.GovernanceAction {
	return &akashiv1.GovernanceAction{Action: &akashiv1.GovernanceAction_RevokeKey{RevokeKey: &akashiv1.RevokeKey{
		KeyId: keyID, Reason: reason,
	}}}
}

// RotateGovernanceKey returns the action that hands governance to pub.
func RotateGovernanceKey(pub ed25519.PublicKey) *akashiv1.GovernanceAction {
	return &akashiv1.GovernanceAction{Action: &akashiv1.GovernanceAction_RotateGovernanceKey{RotateGovernanceKey: &akashiv1.RotateGovernanceKey{
		PublicKey: pub,
	}}}
}
