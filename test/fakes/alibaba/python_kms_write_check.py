"""Drives the fake KMS's write APIs with Alibaba Cloud's official Python SDK (the operator uses the Node SDK, which
sends every parameter in the query; this one sends SecretData in a form body and signs with ACS3-HMAC-SHA256): reads a
JSON job on stdin, prints one JSON result of what each call gave back and the error codes of the refusals."""
import json
import sys

from alibabacloud_kms20160120 import models as kms_models

from python_client import error_code, kms


def main():
    job = json.load(sys.stdin)
    name = job['secretName']
    key = job['accessKey']
    client = kms(job, key['id'], key['secret'])
    result = {}

    def value(stage='ACSCurrent'):
        return client.get_secret_value(kms_models.GetSecretValueRequest(secret_name=name, version_stage=stage)).body.secret_data

    def tags():
        described = client.describe_secret(kms_models.DescribeSecretRequest(secret_name=name, fetch_tags='true')).body
        return {'tags': {t.tag_key: t.tag_value for t in described.tags.tag}, 'description': described.description}

    created = client.create_secret(kms_models.CreateSecretRequest(
        secret_name=name, version_id='v1', secret_data=job['first'], description='made by python',
        tags=json.dumps([{'TagKey': 'team', 'TagValue': 'py'}]),
    )).body
    result['created'] = {'name': created.secret_name, 'versionId': created.version_id}
    result['createTaken'] = error_code(lambda: client.create_secret(kms_models.CreateSecretRequest(secret_name=name, version_id='v9', secret_data='x')))
    put = client.put_secret_value(kms_models.PutSecretValueRequest(secret_name=name, version_id='v2', secret_data=job['second'])).body
    result['put'] = {'versionId': put.version_id, 'stages': put.version_stages.version_stage}
    result['putSameVersion'] = error_code(lambda: client.put_secret_value(kms_models.PutSecretValueRequest(secret_name=name, version_id='v2', secret_data='x')))
    result['current'] = value()
    result['previous'] = value('ACSPrevious')
    client.tag_resource(kms_models.TagResourceRequest(secret_name=name, tags=json.dumps([{'TagKey': 'env', 'TagValue': 'prod'}])))
    client.untag_resource(kms_models.UntagResourceRequest(secret_name=name, tag_keys=json.dumps(['team'])))
    client.update_secret(kms_models.UpdateSecretRequest(secret_name=name, description='changed'))
    result['described'] = tags()
    result['reservedTag'] = error_code(lambda: client.tag_resource(kms_models.TagResourceRequest(secret_name=name, tags=json.dumps([{'TagKey': 'acs:owner', 'TagValue': 'x'}]))))

    deleted = client.delete_secret(kms_models.DeleteSecretRequest(secret_name=name, recovery_window_in_days='7')).body
    result['plannedDeleteTime'] = deleted.planned_delete_time
    result['readDeleted'] = error_code(value)
    result['createInWindow'] = error_code(lambda: client.create_secret(kms_models.CreateSecretRequest(secret_name=name, version_id='v3', secret_data='x')))
    result['putInWindow'] = error_code(lambda: client.put_secret_value(kms_models.PutSecretValueRequest(secret_name=name, version_id='v3', secret_data='x')))
    result['describedInWindow'] = client.describe_secret(kms_models.DescribeSecretRequest(secret_name=name)).body.planned_delete_time
    result['deleteInWindow'] = error_code(lambda: client.delete_secret(kms_models.DeleteSecretRequest(secret_name=name)))
    client.restore_secret(kms_models.RestoreSecretRequest(secret_name=name))
    result['restored'] = value()
    result['badWindow'] = error_code(lambda: client.delete_secret(kms_models.DeleteSecretRequest(secret_name=name, recovery_window_in_days='3')))
    client.delete_secret(kms_models.DeleteSecretRequest(secret_name=name, force_delete_without_recovery='true'))
    result['readForced'] = error_code(value)
    result['putMissing'] = error_code(lambda: client.put_secret_value(kms_models.PutSecretValueRequest(secret_name='no-such-secret', version_id='v1', secret_data='x')))

    read_only = job['readOnlyKey']
    reader = kms(job, read_only['id'], read_only['secret'])
    result['denied'] = error_code(lambda: reader.create_secret(kms_models.CreateSecretRequest(secret_name='denied', version_id='v1', secret_data='x')))
    json.dump(result, sys.stdout)


if __name__ == '__main__':
    main()
