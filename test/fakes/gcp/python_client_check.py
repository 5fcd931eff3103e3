"""Drives the gcp fake with Google's own Python client (google-cloud-secret-manager), the second official client
that checks the fake's wire format. Run by test/integration/gcp-python.test.ts:
    python python_client_check.py HOST:PORT PROJECT ADMIN_TOKEN READER_TOKEN
Prints one JSON object with what each step returned (values, names, error classes and messages)."""
import json
import sys

import grpc
from google.api_core import exceptions
from google.cloud import secretmanager_v1
from google.cloud.secretmanager_v1.services.secret_manager_service.transports import SecretManagerServiceGrpcTransport

address, project, admin_token, reader_token = sys.argv[1:5]
client = secretmanager_v1.SecretManagerServiceClient(transport=SecretManagerServiceGrpcTransport(channel=grpc.insecure_channel(address)))
admin = [("authorization", f"Bearer {admin_token}")]
reader = [("authorization", f"Bearer {reader_token}")]
parent = f"projects/{project}"
out = {}


def error(call):
    try:
        call()
        return None
    except exceptions.GoogleAPICallError as err:
        return {"class": type(err).__name__, "code": err.grpc_status_code.name if err.grpc_status_code else None, "message": err.message}


secret = client.create_secret(
    request={"parent": parent, "secret_id": "py-secret", "secret": {"replication": {"automatic": {}}, "labels": {"team": "py"}, "annotations": {"owner": "python"}}},
    metadata=admin,
)
out["created"] = secret.name
v1 = client.add_secret_version(request={"parent": secret.name, "payload": {"data": b"first"}}, metadata=admin)
v2 = client.add_secret_version(request={"parent": secret.name, "payload": {"data": b"second"}}, metadata=admin)
out["versions"] = [v1.name, v2.name, secretmanager_v1.SecretVersion.State(v2.state).name]
out["latest"] = client.access_secret_version(request={"name": f"{secret.name}/versions/latest"}, metadata=admin).payload.data.decode()
out["v1"] = client.access_secret_version(request={"name": f"{parent}/secrets/py-secret/versions/1"}, metadata=admin).payload.data.decode()
got = client.get_secret(request={"name": f"{parent}/secrets/py-secret"}, metadata=admin)
out["metadata"] = {"labels": dict(got.labels), "annotations": dict(got.annotations)}
for i in range(7):
    client.create_secret(request={"parent": parent, "secret_id": f"py-list-{i}", "secret": {"replication": {"automatic": {}}, "labels": {"batch": "py" if i % 2 == 0 else "other"}}}, metadata=admin)
# The pager follows next_page_token itself; page_size 2 makes it take several pages.
pager = client.list_secrets(request={"parent": parent, "filter": "labels.batch=py", "page_size": 2}, metadata=admin)
out["listed"] = sorted(s.name.rsplit("/", 1)[1] for s in pager)
client.disable_secret_version(request={"name": v2.name}, metadata=admin)
out["disabled"] = error(lambda: client.access_secret_version(request={"name": f"{secret.name}/versions/latest"}, metadata=admin))
enabled = client.list_secret_versions(request={"parent": secret.name, "filter": "state:ENABLED"}, metadata=admin)
out["enabled"] = [v.name for v in enabled]
out["not_found"] = error(lambda: client.access_secret_version(request={"name": f"{parent}/secrets/py-missing/versions/latest"}, metadata=admin))
out["reader_denied"] = error(lambda: client.access_secret_version(request={"name": f"{secret.name}/versions/1"}, metadata=reader))
client.delete_secret(request={"name": f"{parent}/secrets/py-list-1"}, metadata=admin)
out["deleted"] = error(lambda: client.get_secret(request={"name": f"{parent}/secrets/py-list-1"}, metadata=admin))
out["unauthenticated"] = error(lambda: client.access_secret_version(request={"name": f"{secret.name}/versions/1"}, metadata=[("authorization", "Bearer ya29.not-issued")]))
print(json.dumps(out))
