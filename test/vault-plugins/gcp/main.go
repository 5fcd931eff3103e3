// HashiCorp's GCP auth method (github.com/hashicorp/vault-plugin-auth-gcp) as an external plugin for OpenBao, whose
// binary has no GCP auth method: the vault provider's gcp auth test logs in against the real method.
package main

import (
	gcpauth "github.com/hashicorp/vault-plugin-auth-gcp/plugin"

	"secret-relay.dev/test/vault-plugins/openbao"
)

func main() {
	openbao.Serve(gcpauth.Factory)
}
