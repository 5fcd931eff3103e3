// Vault's AWS auth method (github.com/hashicorp/vault/builtin/credential/aws) served as an external plugin, so the
// vault provider's iam auth test logs in against the real method in a real OpenBao (whose binary has no AWS auth
// method). Built by test/setup/install-vault-aws-plugin.sh; the main of Vault's own builtin/credential/aws/cmd/aws,
// plus one adaptation to OpenBao (noRotationManager).
package main

import (
	"context"
	"errors"
	"os"

	hclog "github.com/hashicorp/go-hclog"
	"github.com/hashicorp/vault/api"
	awsauth "github.com/hashicorp/vault/builtin/credential/aws"
	"github.com/hashicorp/vault/sdk/logical"
	"github.com/hashicorp/vault/sdk/plugin"
	"github.com/hashicorp/vault/sdk/rotation"
)

// noRotationManager is the host's SystemView minus Vault's rotation manager (Vault 1.19+), which OpenBao does not
// have: every write of auth/aws/config/client without a rotation schedule deregisters its rotation job, and OpenBao's
// SystemView answers that RPC "Unimplemented", failing the write. With no manager there is no job to deregister;
// registering one (rotation_period/rotation_schedule set) still fails, since nothing would run it.
type noRotationManager struct {
	logical.SystemView
}

func (noRotationManager) DeregisterRotationJob(context.Context, *rotation.RotationJobDeregisterRequest) error {
	return nil
}

func (noRotationManager) RegisterRotationJob(context.Context, *rotation.RotationJobConfigureRequest) (string, error) {
	return "", errors.New("automated root rotation needs Vault's rotation manager, which OpenBao does not have")
}

func factory(ctx context.Context, conf *logical.BackendConfig) (logical.Backend, error) {
	conf.System = noRotationManager{conf.System}
	return awsauth.Factory(ctx, conf)
}

func main() {
	meta := &api.PluginAPIClientMeta{}
	flags := meta.FlagSet()
	if err := flags.Parse(os.Args[1:]); err != nil {
		hclog.New(&hclog.LoggerOptions{}).Error("bad flags", "error", err)
		os.Exit(1)
	}
	if err := plugin.ServeMultiplex(&plugin.ServeOpts{
		BackendFactoryFunc: factory,
		TLSProviderFunc:    api.VaultPluginTLSProvider(meta.GetTLSConfig()),
	}); err != nil {
		hclog.New(&hclog.LoggerOptions{}).Error("plugin shutting down", "error", err)
		os.Exit(1)
	}
}
