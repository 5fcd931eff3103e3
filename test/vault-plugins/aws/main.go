// Vault's AWS auth method (github.com/hashicorp/vault/builtin/credential/aws) as an external plugin for OpenBao,
// whose binary has no AWS auth method: the vault provider's iam auth test logs in against the real method.
package main

import (
	awsauth "github.com/hashicorp/vault/builtin/credential/aws"

	"secret-relay.dev/test/vault-plugins/openbao"
)

func main() {
	openbao.Serve(awsauth.Factory)
}
