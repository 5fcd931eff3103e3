// Package eso holds External Secrets Operator v2.9.0's own template functions (runtime/template/v2: pkcs12.go,
// pem.go, pem_chain.go, jwk.go, decrypt.go, copied unchanged under their Apache-2.0 licence), so the reference
// renders pkcs12*, filterPEM, filterCertChain, certSANs, jwk*Pem and rsaDecrypt exactly as ESO does. The constants below are those of ESO's template.go.
package eso

import tpl "text/template"

const (
	errDecodePKCS12WithPass = "unable to decode pkcs12 with password: %s"
	errDecodeCertWithPass   = "unable to decode pkcs12 certificate with password: %s"
	errParsePrivKey         = "unable to parse private key type"

	pemTypeCertificate = "CERTIFICATE"
	pemTypeKey         = "PRIVATE KEY"
)

// Funcs are the ESO functions the migrate translator maps to liquid filters.
func Funcs() tpl.FuncMap {
	return tpl.FuncMap{
		"pkcs12key":      pkcs12key,
		"pkcs12keyPass":  pkcs12keyPass,
		"pkcs12cert":     pkcs12cert,
		"pkcs12certPass": pkcs12certPass,
		"filterPEM":      filterPEM,

		"filterCertChain":  filterCertChain,
		"certSANs":         certSANs,
		"jwkPublicKeyPem":  jwkPublicKeyPem,
		"jwkPrivateKeyPem": jwkPrivateKeyPem,
		"rsaDecrypt":       rsaDecrypt,
	}
}
