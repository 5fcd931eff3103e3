"""Drives Microsoft's Python SDK (azure-keyvault-secrets + azure-identity) against the Key Vault and Entra ID fakes.

A second official client the operator does not use: if it works unchanged against the fakes (challenge, token
exchange with a federated assertion and with a client secret, paging, versions, errors), they speak the wire format.
Reads a JSON request on stdin, prints a JSON report on stdout. Run by test/integration/azure-python.test.ts.
"""
import json
import sys

from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError
from azure.identity import ClientAssertionCredential, ClientSecretCredential
from azure.keyvault.secrets import SecretClient


def main() -> None:
    req = json.load(sys.stdin)
    tls = {"connection_verify": req["caPath"]}
    common = {"authority": req["authorityHost"], "disable_instance_discovery": True, **tls}
    report = {}

    federated = ClientAssertionCredential(req["tenantId"], req["clientId"], lambda: req["assertion"], **common)
    client = SecretClient(req["vaultUrl"], federated, verify_challenge_resource=False, **tls)
    report["value"] = client.get_secret(req["secretName"]).value
    report["oldValue"] = client.get_secret(req["secretName"], req["firstVersion"]).value
    report["tags"] = client.get_secret(req["secretName"]).properties.tags
    report["names"] = sorted(p.name for p in client.list_properties_of_secrets())
    report["versions"] = len(list(client.list_properties_of_secret_versions(req["secretName"])))
    try:
        client.get_secret("no-such-secret")
        report["missing"] = "found"
    except ResourceNotFoundError as error:
        report["missing"] = error.error.code if error.error else str(error.status_code)

    denied = SecretClient(
        req["vaultUrl"],
        ClientSecretCredential(req["tenantId"], req["deniedClientId"], req["deniedClientSecret"], **common),
        verify_challenge_resource=False,
        **tls,
    )
    try:
        denied.get_secret(req["secretName"])
        report["denied"] = "allowed"
    except HttpResponseError as error:
        report["denied"] = {"status": error.status_code, "code": error.error.code if error.error else None, "message": error.message}

    unfederated = SecretClient(
        req["vaultUrl"],
        ClientAssertionCredential(req["tenantId"], req["unfederatedClientId"], lambda: req["assertion"], **common),
        verify_challenge_resource=False,
        **tls,
    )
    try:
        unfederated.get_secret(req["secretName"])
        report["unfederated"] = "allowed"
    except ClientAuthenticationError as error:
        report["unfederated"] = str(error.message)

    json.dump(report, sys.stdout)


if __name__ == "__main__":
    main()
