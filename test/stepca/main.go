// main.go: the step-ca entry point of the test CA, built by test/stepca/build.sh from Debian's golang-github-smallstep-certificates-dev (0.19.0).
// Debian ships the library without upstream's cmd/step-ca/main.go. This
// wires the same top-level command (commands.AppCommand) with only the
// soft KMS and soft CAS back ends (keys/certs from files; no cloud/HSM KMS,
// no RA mode), plus a test-only "eab-add" subcommand.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"crypto/rand"
	"encoding/base64"
	"encoding/json"

	acmeNoSQL "github.com/smallstep/certificates/acme/db/nosql"
	"github.com/smallstep/certificates/authority"
	"github.com/smallstep/certificates/authority/config"
	"github.com/smallstep/certificates/commands"
	"github.com/smallstep/certificates/db"
	"github.com/smallstep/nosql"
	"github.com/urfave/cli"
	"go.step.sm/cli-utils/step"
	"go.step.sm/crypto/randutil"

	_ "github.com/smallstep/certificates/cas/softcas"
	_ "github.com/smallstep/certificates/kms/softkms"
)

var Version = "0.19.0-debian"

func main() {
	step.Set("Smallstep CA", Version, "N/A")
	authority.GlobalVersion.Version = Version

	app := cli.NewApp()
	app.Name = "step-ca"
	app.HelpName = "step-ca"
	app.Version = Version
	app.Usage = "an online certificate authority for secure automated certificate management"
	app.UsageText = commands.AppCommand.UsageText
	app.Flags = commands.AppCommand.Flags
	app.Writer = os.Stdout
	app.ErrWriter = os.Stderr
	app.Commands = []cli.Command{
		{
			Name:  "version",
			Usage: "Displays the current version",
			Action: func(c *cli.Context) error {
				fmt.Println("Smallstep CA/" + Version)
				return nil
			},
		},
		{
			// Test helper (not upstream): without the step CLI and the admin
			// API there is no way to mint ACME EAB keys, so write one straight
			// into the CA's database. The CA must be stopped (bbolt lock).
			// Keys are bound to provisioner ID "" = provisioners from ca.json.
			Name:      "eab-add",
			Usage:     "create an ACME EAB key in the database of a stopped CA; prints KID and HMAC",
			ArgsUsage: "<ca.json> [reference]",
			Action: func(c *cli.Context) error {
				cfg, err := config.LoadConfiguration(c.Args().Get(0))
				if err != nil {
					return err
				}
				adb, err := db.New(cfg.DB)
				if err != nil {
					return err
				}
				defer adb.Shutdown()
				ndb, ok := adb.(*db.DB)
				if !ok {
					return fmt.Errorf("database type %T is not a nosql database", adb)
				}
				if _, err := acmeNoSQL.New(nosql.DB(ndb.DB)); err != nil { // creates the ACME tables
					return err
				}
				// (acme/db/nosql).CreateExternalAccountKey cannot be used: it also
				// indexes by provisioner ID, and that is "" for ca.json
				// provisioners (bbolt rejects the empty key). Validation only
				// reads the key row, so store that row as eab.go does.
				id, err := randutil.Alphanumeric(32)
				if err != nil {
					return err
				}
				keyBytes := make([]byte, 32)
				if _, err := rand.Read(keyBytes); err != nil {
					return err
				}
				// Same type, field order and tags as dbExternalAccountKey in
				// acme/db/nosql/eab.go: binding does a compare-and-swap
				// against the re-marshalled row, so the bytes must match.
				row, err := json.Marshal(struct {
					ID            string    `json:"id"`
					ProvisionerID string    `json:"provisionerID"`
					Reference     string    `json:"reference"`
					AccountID     string    `json:"accountID,omitempty"`
					KeyBytes      []byte    `json:"key"`
					CreatedAt     time.Time `json:"createdAt"`
					BoundAt       time.Time `json:"boundAt"`
				}{ID: id, Reference: c.Args().Get(1), KeyBytes: keyBytes, CreatedAt: time.Now().UTC().Round(0)})
				if err != nil {
					return err
				}
				if err := ndb.Set([]byte("acme_external_account_keys"), []byte(id), row); err != nil {
					return err
				}
				k := struct {
					ID       string
					KeyBytes []byte
				}{id, keyBytes}
				fmt.Printf("EAB_KID=%s\nEAB_HMAC=%s\n", k.ID, base64.RawURLEncoding.EncodeToString(k.KeyBytes))
				return nil
			},
		},
	}
	app.Action = func(_ *cli.Context) error {
		// Same hack as upstream: run the top action as a subcommand.
		set := flag.NewFlagSet(app.Name, flag.ContinueOnError)
		set.Parse(os.Args)
		ctx := cli.NewContext(app, set, nil)
		return commands.AppCommand.Run(ctx)
	}
	if err := app.Run(os.Args); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
