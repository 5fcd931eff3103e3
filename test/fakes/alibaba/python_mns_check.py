# Drives the Simple Message Queue (MNS) fake with Alibaba's official Python MNS SDK (aliyun-mns-sdk, installed by
# test/setup/install-alibaba-client.sh; the operator uses the Node client @alicloud/mns), unchanged, and prints what
# it saw as JSON. Job on stdin: endpoint, sts credentials, an expired session, a denied key, the events queue.
import json
import sys
import time

from mns.account import Account
from mns.mns_exception import MNSServerException
from mns.queue import Message, QueueMeta

job = json.load(sys.stdin)
out = {}
sts = job["sts"]
account = Account(job["endpoint"], sts["id"], sts["secret"], sts["token"])


def text(body):
    return body.decode("utf-8") if isinstance(body, bytes) else body


def refused(call):
    try:
        call()
        return None
    except MNSServerException as e:
        return e.type


# Create a queue whose received messages stay invisible for 2 s; the second create is refused.
queue = account.get_queue("py-queue")
meta = QueueMeta()
meta.set_visibilitytimeout(2)
out["created"] = queue.create(meta)
out["again"] = refused(lambda: queue.create(meta))
out["visibility"] = queue.get_attributes().visibility_timeout

# Send (base64, the SDK's default) and receive: the SDK decodes the body again.
sent = queue.send_message(Message("hello from python"))
first = queue.receive_message(1)
out["received"] = [text(first.message_body), first.message_id == sent.message_id, first.dequeue_count]
# Not deleted: invisible until the visibility timeout, then delivered again with a new receipt handle.
out["while_invisible"] = refused(lambda: queue.receive_message(0))
started = time.time()
again = queue.receive_message(5)
out["redelivered"] = [again.message_id == sent.message_id, again.dequeue_count, again.receipt_handle != first.receipt_handle, round(time.time() - started) >= 1]
out["old_handle"] = refused(lambda: queue.delete_message(first.receipt_handle))
out["garbage_handle"] = refused(lambda: queue.delete_message("not-a-handle"))
queue.delete_message(again.receipt_handle)
out["after_delete"] = refused(lambda: queue.receive_message(0))

# Change visibility: the message comes back after the new timeout, the returned handle is the one that works.
queue.send_message(Message("two"))
two = queue.receive_message(1)
changed = queue.change_message_visibility(two.receipt_handle, 1)
out["changed_handle_differs"] = changed.receipt_handle != two.receipt_handle
back = queue.receive_message(5)
out["after_change"] = [text(back.message_body), back.dequeue_count]
queue.delete_message(back.receipt_handle)

# Batches, raw bodies (no base64).
queue.set_encoding(False)
queue.batch_send_message([Message("b1"), Message("b2"), Message("b3")])
got = queue.batch_receive_message(16, 1)
out["batch"] = sorted(text(m.message_body) for m in got)
queue.batch_delete_message([m.receipt_handle for m in got])
out["batch_empty"] = refused(lambda: queue.batch_receive_message(16, 0))
out["bad_wait"] = refused(lambda: queue.receive_message(31))

# Refusals.
out["missing_queue"] = refused(lambda: account.get_queue("py-missing").receive_message(0))
wrong = Account(job["endpoint"], sts["id"], "not-the-secret", sts["token"])
out["wrong_secret"] = refused(lambda: wrong.get_queue("py-queue").receive_message(0))
no_token = Account(job["endpoint"], sts["id"], sts["secret"])
out["no_token"] = refused(lambda: no_token.get_queue("py-queue").receive_message(0))
expired = job["expired"]
out["expired_token"] = refused(lambda: Account(job["endpoint"], expired["id"], expired["secret"], expired["token"]).get_queue("py-queue").receive_message(0))
denied = job["denied"]
out["denied"] = refused(lambda: Account(job["endpoint"], denied["id"], denied["secret"]).get_queue("py-queue").receive_message(0))
out["unknown_key"] = refused(lambda: Account(job["endpoint"], "LTAInobody", "x").get_queue("py-queue").receive_message(0))

# What EventBridge's rule delivered for the KMS writes the test made.
events = account.get_queue(job["eventsQueue"])
events.set_encoding(False)
seen = []
for m in events.batch_receive_message(16, 5):
    event = json.loads(text(m.message_body))
    seen.append([event["type"], event["data"]["eventName"], event["data"]["requestParameters"]["SecretName"], event["data"]["serviceName"]])
    events.delete_message(m.receipt_handle)
out["events"] = sorted(seen)

queue.delete()
out["deleted"] = refused(lambda: queue.receive_message(0))
print(json.dumps(out))
