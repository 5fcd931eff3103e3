"""Drives the Pub/Sub fake with Google's own Python client (google-cloud-pubsub, its generated Publisher and
Subscriber clients), the second official client that checks the fake's wire format and semantics. Run by
test/integration/gcp-pubsub-python.test.ts:
    python python_pubsub_check.py PUBSUB_HOST:PORT SECRET_MANAGER_HOST:PORT PROJECT ADMIN_TOKEN OUTSIDER_TOKEN
Prints one JSON object with what each step returned."""
import json
import queue
import sys
import time

import grpc
from google.api_core import exceptions
from google.pubsub_v1.services.publisher import PublisherClient
from google.pubsub_v1.services.publisher.transports import PublisherGrpcTransport
from google.pubsub_v1.services.subscriber import SubscriberClient
from google.pubsub_v1.services.subscriber.transports import SubscriberGrpcTransport
from google.pubsub_v1.types import StreamingPullRequest
from google.cloud import secretmanager_v1
from google.cloud.secretmanager_v1.services.secret_manager_service.transports import SecretManagerServiceGrpcTransport

address, sm_address, project, admin_token, outsider_token = sys.argv[1:6]
publisher = PublisherClient(transport=PublisherGrpcTransport(channel=grpc.insecure_channel(address)))
subscriber = SubscriberClient(transport=SubscriberGrpcTransport(channel=grpc.insecure_channel(address)))
admin = [("authorization", f"Bearer {admin_token}")]
outsider = [("authorization", f"Bearer {outsider_token}")]
topic = f"projects/{project}/topics/py-topic"
sub = f"projects/{project}/subscriptions/py-sub"
out = {}


def error(call):
    try:
        call()
        return None
    except exceptions.GoogleAPICallError as err:
        return {"class": type(err).__name__, "message": err.message}


out["topic"] = publisher.create_topic(request={"name": topic}, metadata=admin).name
out["subscription"] = subscriber.create_subscription(request={"name": sub, "topic": topic, "ack_deadline_seconds": 10}, metadata=admin).ack_deadline_seconds
out["duplicate_topic"] = error(lambda: publisher.create_topic(request={"name": topic}, metadata=admin))
ids = publisher.publish(request={"topic": topic, "messages": [{"data": b"one", "attributes": {"eventType": "SECRET_VERSION_ADD"}, "ordering_key": "k"}, {"data": b"two"}]}, metadata=admin).message_ids
out["published"] = len(ids)
pulled = subscriber.pull(request={"subscription": sub, "max_messages": 10}, metadata=admin).received_messages
out["pulled"] = sorted([m.message.data.decode(), dict(m.message.attributes), m.message.message_id in ids] for m in pulled)
one = next(m for m in pulled if m.message.data == b"one")
two = next(m for m in pulled if m.message.data == b"two")
subscriber.acknowledge(request={"subscription": sub, "ack_ids": [one.ack_id]}, metadata=admin)
# "two" is not acknowledged: nothing more until its ack deadline (10 s) passes, then it comes again.
out["before_deadline"] = len(subscriber.pull(request={"subscription": sub, "max_messages": 10}, metadata=admin).received_messages)
time.sleep(11)
again = subscriber.pull(request={"subscription": sub, "max_messages": 10}, metadata=admin).received_messages
out["redelivered"] = [[m.message.data.decode(), m.message.message_id == two.message.message_id, m.ack_id != two.ack_id] for m in again]
# A nack (ack deadline 0) redelivers at once.
subscriber.modify_ack_deadline(request={"subscription": sub, "ack_ids": [again[0].ack_id], "ack_deadline_seconds": 0}, metadata=admin)
nacked = subscriber.pull(request={"subscription": sub, "max_messages": 10}, metadata=admin).received_messages
out["nacked_redelivered"] = [m.message.data.decode() for m in nacked]
subscriber.acknowledge(request={"subscription": sub, "ack_ids": [m.ack_id for m in nacked]}, metadata=admin)

# StreamingPull: the first request names the subscription; acks go on the same stream.
requests = queue.Queue()
requests.put(StreamingPullRequest(subscription=sub, stream_ack_deadline_seconds=10))


def request_iterator():
    while True:
        item = requests.get()
        if item is None:
            return
        yield item


responses = subscriber.streaming_pull(requests=request_iterator(), metadata=admin)
publisher.publish(request={"topic": topic, "messages": [{"data": b"streamed", "attributes": {"secretId": "projects/1/secrets/s"}}]}, metadata=admin)
first = next(responses)
out["streamed"] = [[m.message.data.decode(), dict(m.message.attributes)] for m in first.received_messages]
requests.put(StreamingPullRequest(ack_ids=[m.ack_id for m in first.received_messages]))
time.sleep(0.5)
requests.put(None)
for _ in responses:
    pass
out["after_stream"] = len(subscriber.pull(request={"subscription": sub, "max_messages": 10}, metadata=admin).received_messages)

# Secret Manager publishes to the topics set on a secret (its event notifications), read back with this client.
secrets = secretmanager_v1.SecretManagerServiceClient(transport=SecretManagerServiceGrpcTransport(channel=grpc.insecure_channel(sm_address)))
created = secrets.create_secret(request={"parent": f"projects/{project}", "secret_id": "py-notified", "secret": {"replication": {"automatic": {}}, "topics": [{"name": topic}]}}, metadata=admin)
version = secrets.add_secret_version(request={"parent": created.name, "payload": {"data": b"never-in-a-notification"}}, metadata=admin)
secrets.disable_secret_version(request={"name": version.name}, metadata=admin)
notified = subscriber.pull(request={"subscription": sub, "max_messages": 10}, metadata=admin).received_messages
out["notifications"] = [{"attributes": {k: v for k, v in m.message.attributes.items() if k != "timestamp"}, "has_timestamp": "timestamp" in m.message.attributes, "data": json.loads(m.message.data)} for m in notified]
subscriber.acknowledge(request={"subscription": sub, "ack_ids": [m.ack_id for m in notified]}, metadata=admin)

out["outsider_pull"] = error(lambda: subscriber.pull(request={"subscription": sub, "max_messages": 1}, metadata=outsider))
out["missing"] = error(lambda: subscriber.pull(request={"subscription": f"projects/{project}/subscriptions/py-missing", "max_messages": 1}, metadata=admin))
out["unauthenticated"] = error(lambda: subscriber.pull(request={"subscription": sub, "max_messages": 1}, metadata=[("authorization", "Bearer ya29.not-issued")]))
out["bad_name"] = error(lambda: subscriber.pull(request={"subscription": "subs/x", "max_messages": 1}, metadata=admin))
subscriber.delete_subscription(request={"subscription": sub}, metadata=admin)
out["deleted"] = error(lambda: subscriber.pull(request={"subscription": sub, "max_messages": 1}, metadata=admin))
print(json.dumps(out))
