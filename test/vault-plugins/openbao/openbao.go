// Package openbao adapts HashiCorp's Vault plugins to OpenBao, which runs them (same go-plugin handshake, gRPC
// backend protocol and multiplexing) but lacks one host service they use.
package openbao

import (
	"context"
	"errors"
	"os"

	hclog "github.com/hashicorp/go-hclog"
	"github.com/hashicorp/vault/api"
	"github.com/hashicorp/vault/sdk/logical"
	"github.com/hashicorp/vault/sdk/plugin"
	"github.com/hashicorp/vault/sdk/rotation"
)

// noRotationManager is the host's SystemView minus Vault's rotation manager (Vault 1.19+), which OpenBao does not
// have: every config write without a rotation schedule deregisters the mount's rotation job, and OpenBao's SystemView
// answers that RPC "Unimplemented", failing the write. With no manager there is no job to deregister; registering one
// (rotation_period/rotation_schedule set) still fails, since nothing would run it.
type noRotationManager struct {
	logical.SystemView
}

func (noRotationManager) DeregisterRotationJob(context.Context, *rotation.RotationJobDeregisterRequest) error {
	return nil
}

func (noRotationManager) RegisterRotationJob(context.Context, *rotation.RotationJobConfigureRequest) (string, error) {
	return "", errors.New("automated root rotation needs Vault's rotation manager, which OpenBao does not have")
}

// Serve runs the backend as a multiplexed plugin, as Vault's own plugin mains do (sdk/plugin.ServeMultiplex with
// the API client's TLS flags), with the SystemView adapted.
func Serve(factory logical.Factory) {
	meta := &api.PluginAPIClientMeta{}
	flags := meta.FlagSet()
	if err := flags.Parse(os.Args[1:]); err != nil {
		hclog.New(&hclog.LoggerOptions{}).Error("bad flags", "error", err)
		os.Exit(1)
	}
	adapted := func(ctx context.Context, conf *logical.BackendConfig) (logical.Backend, error) {
		conf.System = noRotationManager{conf.System}
		return factory(ctx, conf)
	}
	if err := plugin.ServeMultiplex(&plugin.ServeOpts{
		BackendFactoryFunc: adapted,
		TLSProviderFunc:    api.VaultPluginTLSProvider(meta.GetTLSConfig()),
	}); err != nil {
		hclog.New(&hclog.LoggerOptions{}).Error("plugin shutting down", "error", err)
		os.Exit(1)
	}
}
