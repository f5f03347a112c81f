// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
	"github.com/akashi-ledger/akashi/record"
)

// loadOrCreateKeyFile reads an Ed25519 private key from a PEM file, or
// creates the file (mode 0600) with a new key if there is none.
func loadOrCreateKeyFile(path string) (ed25519.PrivateKey, bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, false, err
		}
		pemBytes, err := record.MarshalPrivateKey(priv)
		if err != nil {
			return nil, false, err
		}
		if err := writeFileExcl(path, pemBytes); err != nil {
			return nil, false, err
		}
		return priv, true, nil
	}
	if err != nil {
		return nil, false, err
	}
	priv, err := record.ParsePrivateKey(b)
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", path, err)
	}
	return priv, false, nil
}

// chainSigner signs a key's statements in sequence, each linked to the
// previous one.
type chainSigner struct {
	key    ed25519.PrivateKey
	origin string
	seq    uint64
	last   []byte // statement hash of the last statement; nil before the first
}

// resume asks the log where the key's chain stands.
func resume(ctx context.Context, reg akashiv1.RegistryServiceClient, key ed25519.PrivateKey, origin string) (*chainSigner, error) {
	cs := &chainSigner{key: key, origin: origin}
	resp, err := reg.GetSigner(ctx, &akashiv1.GetSignerRequest{KeyId: record.KeyID(key.Public().(ed25519.PublicKey))})
	if status.Code(err) == codes.NotFound {
		return cs, nil
	}
	if err != nil {
		return nil, err
	}
	cs.seq, cs.last = resp.GetSequence(), resp.GetLastStatementHash()
	return cs, nil
}

func (c *chainSigner) sign(st *akashiv1.Statement) (*akashiv1.SignedStatement, error) {
	st.Sequence, st.Previous = c.seq+1, c.last
	ss, err := record.Sign(c.key, c.origin, st)
	if err != nil {
		return nil, err
	}
	h := record.StatementHash(ss.GetStatement())
	c.seq, c.last = c.seq+1, h[:]
	return ss, nil
}

// governance signs and applies a governance action with the governance key.
func (c *chainSigner) governance(ctx context.Context, reg akashiv1.RegistryServiceClient, a *akashiv1.GovernanceAction) (*akashiv1.ApplyGovernanceResponse, error) {
	ss, err := c.sign(&akashiv1.Statement{Body: &akashiv1.Statement_Governance{Governance: a}})
	if err != nil {
		return nil, err
	}
	return reg.ApplyGovernance(ctx, &akashiv1.ApplyGovernanceRequest{Statement: ss})
}

// ensureGenesis makes the log's first entry establish the governance key,
// if the log is empty.
func ensureGenesis(ctx context.Context, reg akashiv1.RegistryServiceClient, gov ed25519.PrivateKey, origin string, size uint64) error {
	if size > 0 {
		return nil
	}
	c := &chainSigner{key: gov, origin: origin}
	_, err := c.governance(ctx, reg, &akashiv1.GovernanceAction{Action: &akashiv1.GovernanceAction_RotateGovernanceKey{
		RotateGovernanceKey: &akashiv1.RotateGovernanceKey{PublicKey: gov.Public().(ed25519.PublicKey)},
	}})
	if err != nil {
		return fmt.Errorf("establishing the governance key: %w", err)
	}
	return nil
}
