// SPDX-License-Identifier: Apache-2.0

package client_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/akashi-ledger/akashi/client"
	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
)

// The log's operator registers an agency's key with the governance key.
func ExampleSigner_Govern() {
	ctx := context.Background()
	c, err := client.Dial(ctx, serverAddr, client.Options{VerifierKey: verifierKey})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	gov, err := client.NewSigner(ctx, c, governance, client.SignerOptions{})
	if err != nil {
		log.Fatal(err)
	}
	agencyPub, _, _ := ed25519.GenerateKey(nil)
	rc, err := gov.Govern(ctx, client.RegisterKey(client.Org("JP-JCN-8000020130001", "東京都"), agencyPub, "総務局 1"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("registered; receipt verified:", rc.TreeSize() > rc.Index)
	// Output: registered; receipt verified: true
}

// An agency publishes a decision: validated, signed with its key, appended,
// and the receipt verified against the pinned log key before it returns.
func ExampleSigner_Append() {
	ctx := context.Background()
	agencyKey := exampleAgency("JP-JCN-8000020130001", "東京都")

	c, err := client.Dial(ctx, serverAddr, client.Options{VerifierKey: verifierKey})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	state := filepath.Join(os.TempDir(), fmt.Sprintf("akashi-example-%d.state", time.Now().UnixNano()))
	defer os.Remove(state)
	s, err := client.NewSigner(ctx, c, agencyKey, client.SignerOptions{StateFile: state})
	if err != nil {
		log.Fatal(err)
	}
	r, err := client.NewDecision(client.Envelope{
		ID:         "tokyo-dec-2020-0410",
		Publisher:  client.Org("JP-JCN-8000020130001", "東京都"),
		RecordedAt: time.Date(2020, 4, 10, 17, 0, 0, 0, time.FixedZone("JST", 9*3600)),
	}, &akashiv1.Decision{
		Title:        "東京都感染拡大防止協力金",
		Type:         akashiv1.DecisionType_DECISION_TYPE_SUBSIDY_PROGRAMME,
		DecisionDate: "2020-04-10",
		Status:       akashiv1.DecisionStatus_DECISION_STATUS_IN_FORCE,
	})
	if err != nil {
		log.Fatal(err)
	}
	rc, err := s.Append(ctx, r)
	if err != nil {
		log.Fatal(err)
	}
	// Sending it again is safe: the original receipt comes back.
	again, err := s.Append(ctx, r)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("same entry:", again.Index == rc.Index)

	// A record that breaks the schema's rules is refused before sending.
	r.GetDecision().DecisionDate = "2020-02-30"
	_, err = s.Append(ctx, r)
	fmt.Println(err)
	// Output:
	// same entry: true
	// record.decision.decision_date: got "2020-02-30", want a calendar date YYYY-MM-DD
}

// A payment to a natural person: the record carries an opaque id and a
// salted commitment; the agency keeps the salt with the person's data.
func ExampleNewPersonal() {
	p, err := client.NewPersonal(map[string]string{"name": "山田 花子", "birth_date": "1980-01-02"})
	if err != nil {
		log.Fatal(err)
	}
	d := &akashiv1.Disbursement{Payee: p.Payee()}
	fmt.Println(d.GetPayee().GetIndividual().GetId() == p.ID, len(d.GetPayee().GetIndividual().GetCommitment()))
	fmt.Println(p.Matches(map[string]string{"name": "山田 花子", "birth_date": "1980-01-02"}))
	fmt.Println(p.Matches(map[string]string{"name": "山田 太郎", "birth_date": "1980-01-02"}))
	// Output:
	// true 32
	// true
	// false
}

// An auditor verifies the whole log, then only what is new at each run.
func ExampleAuditor() {
	ctx := context.Background()
	c, err := client.Dial(ctx, serverAddr, client.Options{VerifierKey: verifierKey})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	state := filepath.Join(os.TempDir(), fmt.Sprintf("akashi-audit-%d.state", time.Now().UnixNano()))
	defer os.Remove(state)
	a := client.NewAuditor(c, client.AuditorOptions{StateFile: state})
	rep, err := a.Run(ctx)
	if err != nil {
		// A failure names the entry at fault: for _, f := range rep.Failures ...
		log.Fatal(err)
	}
	fmt.Println("complete:", rep.Complete, "failures:", len(rep.Failures))
	rep, err = a.Run(ctx) // resumes from the saved state
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("resumed from the last verified checkpoint:", rep.From == rep.Previous)
	// Output:
	// complete: true failures: 0
	// resumed from the last verified checkpoint: true
}

// A monitor checks that each new checkpoint extends the last one, and
// compares what two endpoints of the log show.
func ExampleMonitor() {
	ctx := context.Background()
	c, err := client.Dial(ctx, serverAddr, client.Options{VerifierKey: verifierKey})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	mirror, err := client.Dial(ctx, serverAddr, client.Options{VerifierKey: verifierKey})
	if err != nil {
		log.Fatal(err)
	}
	defer mirror.Close()
	m, err := client.NewMonitor(c, client.MonitorOptions{Others: []*client.Client{mirror}})
	if err != nil {
		log.Fatal(err)
	}
	_, err = m.Check(ctx)
	var alarm *client.Alarm
	fmt.Println("alarm:", errors.As(err, &alarm))
	// m.Run(ctx, onError) polls every Interval until an alarm.
	// Output: alarm: false
}

// exampleAgency registers a fresh key for an agency and returns it.
func exampleAgency(id, name string) ed25519.PrivateKey {
	ctx := context.Background()
	c, err := client.Dial(ctx, serverAddr, client.Options{VerifierKey: verifierKey})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	gov, err := client.NewSigner(ctx, c, governance, client.SignerOptions{})
	if err != nil {
		log.Fatal(err)
	}
	pub, priv, _ := ed25519.GenerateKey(nil)
	if _, err := gov.Govern(ctx, client.RegisterKey(client.Org(id, name), pub, "example")); err != nil {
		log.Fatal(err)
	}
	return priv
}
