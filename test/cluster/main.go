// Command kube-local is a small local Kubernetes control plane for secret-relay's
// tests: embedded etcd, the real kube-apiserver and a few kube-controller-manager
// controllers, each run as a separate process of this one binary (their global
// state — klog flags, legacy metric registries — must not collide, and the
// apiserver must be restartable while etcd keeps the data).
//
//	kube-local certs --dir D --server URL
//	kube-local etcd --data-dir D --client-port P --peer-port Q
//	kube-local apiserver <kube-apiserver flags>
//	kube-local controller-manager <kube-controller-manager flags>
//
// The Node side (test/support/cluster.ts) chooses ports and flags.
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"flag"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
	_ "time/tzdata" // as in the upstream mains: CronJob time zones

	"go.etcd.io/etcd/server/v3/embed"
	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"          // as upstream: JSON log format
	_ "k8s.io/component-base/metrics/prometheus/clientgo" // as upstream: client-go metrics
	_ "k8s.io/component-base/metrics/prometheus/version"  // as upstream: version metric
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: kube-local certs|etcd|apiserver|controller-manager [flags]")
		os.Exit(2)
	}
	args := os.Args[2:]
	if os.Getenv("KUBE_LOCAL_EXIT_WITH_PARENT") == "1" {
		go exitWithParent()
	}
	switch os.Args[1] {
	case "certs":
		exitOn(certs(args))
	case "etcd":
		exitOn(runEtcd(args))
	case "apiserver":
		cmd := apiserver.NewAPIServerCommand()
		cmd.SetArgs(args)
		os.Exit(cli.Run(cmd))
	case "controller-manager":
		cmd := controllermanager.NewControllerManagerCommand()
		cmd.SetArgs(args)
		os.Exit(cli.Run(cmd))
	default:
		fmt.Fprintf(os.Stderr, "unknown subcommand %q\n", os.Args[1])
		os.Exit(2)
	}
}

// exitWithParent ends this process once its parent is gone (it gets reparented),
// so a test run that is killed outright leaves no control plane running.
func exitWithParent() {
	parent := os.Getppid()
	for range time.Tick(500 * time.Millisecond) {
		if os.Getppid() != parent {
			fmt.Fprintln(os.Stderr, "kube-local: parent process exited; exiting")
			os.Exit(1)
		}
	}
}

func exitOn(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "kube-local:", err)
		os.Exit(1)
	}
}

func runEtcd(args []string) error {
	fs := flag.NewFlagSet("etcd", flag.ExitOnError)
	dataDir := fs.String("data-dir", "", "data directory")
	clientPort := fs.Int("client-port", 2379, "client port on 127.0.0.1")
	peerPort := fs.Int("peer-port", 2380, "peer port on 127.0.0.1")
	_ = fs.Parse(args)
	if *dataDir == "" {
		return fmt.Errorf("--data-dir is required")
	}
	u := func(port int) []url.URL {
		return []url.URL{{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", port)}}
	}
	cfg := embed.NewConfig()
	cfg.Dir = *dataDir
	cfg.Name = "kube-local"
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = u(*clientPort), u(*clientPort)
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = u(*peerPort), u(*peerPort)
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.LogLevel = "warn"
	// Throwaway test data: skipping fsync makes writes much faster on slow disks
	// and only loses data on a machine crash, not on a process restart.
	cfg.UnsafeNoFsync = true
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return err
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		return err
	case <-time.After(60 * time.Second):
		e.Close()
		return fmt.Errorf("etcd did not become ready within 60s")
	}
	fmt.Fprintln(os.Stderr, "etcd ready on", cfg.ListenClientUrls[0].String())
	select {
	case <-sig:
		e.Close()
		return nil
	case err := <-e.Err():
		e.Close()
		return err
	}
}

// certs writes, into --dir: ca.crt/ca.key, apiserver.crt/.key (serving),
// admin.crt/.key (client cert in system:masters), sa.key (RSA, signs
// ServiceAccount tokens: RS256 is what token verifiers expect) and
// admin.kubeconfig pointing at --server. Existing files are kept, so the CA
// and keys stay valid across restarts.
func certs(args []string) error {
	fs := flag.NewFlagSet("certs", flag.ExitOnError)
	dir := fs.String("dir", "", "output directory")
	server := fs.String("server", "", "apiserver URL for the kubeconfig")
	_ = fs.Parse(args)
	if *dir == "" || *server == "" {
		return fmt.Errorf("--dir and --server are required")
	}
	if _, err := os.Stat(filepath.Join(*dir, "admin.kubeconfig")); err == nil {
		return nil
	}
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		return err
	}
	now := time.Now().Add(-time.Hour)
	notAfter := now.Add(10 * 365 * 24 * time.Hour)

	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "secret-relay-local-ca"},
		NotBefore:             now,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return err
	}
	caCert, _ := x509.ParseCertificate(caDER)

	leaf := func(tmpl *x509.Certificate) ([]byte, []byte, error) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, nil, err
		}
		tmpl.SerialNumber = serial()
		tmpl.NotBefore, tmpl.NotAfter = now, notAfter
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
		if err != nil {
			return nil, nil, err
		}
		keyDER, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			return nil, nil, err
		}
		return pemBytes("CERTIFICATE", der), pemBytes("EC PRIVATE KEY", keyDER), nil
	}
	servingCrt, servingKey, err := leaf(&x509.Certificate{
		Subject:     pkix.Name{CommonName: "kube-apiserver"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:    []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("10.0.0.1")},
	})
	if err != nil {
		return err
	}
	adminCrt, adminKey, err := leaf(&x509.Certificate{
		Subject:     pkix.Name{CommonName: "admin", Organization: []string{"system:masters"}},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	if err != nil {
		return err
	}
	saKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	caKeyDER, _ := x509.MarshalECPrivateKey(caKey)
	caPEM := pemBytes("CERTIFICATE", caDER)
	kubeconfig := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: admin
  user:
    client-certificate-data: %s
    client-key-data: %s
contexts:
- name: local
  context:
    cluster: local
    user: admin
current-context: local
`, *server, b64(caPEM), b64(adminCrt), b64(adminKey))

	files := []struct {
		name string
		data []byte
	}{
		{"ca.crt", caPEM},
		{"ca.key", pemBytes("EC PRIVATE KEY", caKeyDER)},
		{"apiserver.crt", servingCrt},
		{"apiserver.key", servingKey},
		{"admin.crt", adminCrt},
		{"admin.key", adminKey},
		{"sa.key", pemBytes("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(saKey))},
		{"admin.kubeconfig", []byte(kubeconfig)}, // last: its presence marks completion
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(*dir, f.name), f.data, 0o600); err != nil {
			return err
		}
	}
	return nil
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	return n
}

func pemBytes(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
