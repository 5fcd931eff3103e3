"""Drives the fake KMS/STS with Alibaba Cloud's official Python SDK (the operator uses the Node SDK): reads a JSON job on
stdin, prints one JSON result. Static keys with both signatures (V3 ACS3-HMAC-SHA256, the SDK's default, and V1
HMAC-SHA1), ListSecrets with Filters, AssumeRoleWithOIDC with a real apiserver token, then a read with the session.
python_kms_write_check.py imports its KMS client set-up and error_code."""
import json
import sys

from alibabacloud_kms20160120.client import Client as KmsClient
from alibabacloud_kms20160120 import models as kms_models
from alibabacloud_sts20150401.client import Client as StsClient
from alibabacloud_sts20150401 import models as sts_models
from alibabacloud_tea_openapi import models as openapi_models


def kms(job, access_key_id, access_key_secret, security_token=None, signature_algorithm=None):
    config = openapi_models.Config(
        access_key_id=access_key_id,
        access_key_secret=access_key_secret,
        security_token=security_token,
        region_id=job['region'],
        endpoint=job['kmsHost'],
        protocol='http',
    )
    if signature_algorithm:
        config.signature_algorithm = signature_algorithm
    return KmsClient(config)


def error_code(call):
    try:
        call()
        return None
    except Exception as error:  # the SDK's ClientException / TeaException, both with .code
        return getattr(error, 'code', repr(error))


def main():
    job = json.load(sys.stdin)
    key = job['accessKey']
    result = {}
    v3 = kms(job, key['id'], key['secret'])
    value = v3.get_secret_value(kms_models.GetSecretValueRequest(secret_name=job['secretName']))
    result['v3'] = {'data': value.body.secret_data, 'stages': value.body.version_stages.version_stage}
    previous = v3.get_secret_value(kms_models.GetSecretValueRequest(secret_name=job['secretName'], version_stage='ACSPrevious'))
    result['v3Previous'] = previous.body.secret_data
    v1 = kms(job, key['id'], key['secret'], signature_algorithm='v2')
    result['v1'] = v1.get_secret_value(kms_models.GetSecretValueRequest(secret_name=job['secretName'])).body.secret_data
    listed = v3.list_secrets(kms_models.ListSecretsRequest(
        fetch_tags='true', page_size=10, page_number=1,
        filters=json.dumps([{'Key': 'TagKey', 'Values': [job['tagKey']]}, {'Key': 'TagValue', 'Values': [job['tagValue']]}]),
    ))
    result['listed'] = sorted(s.secret_name for s in listed.body.secret_list.secret)
    result['wrongSecret'] = error_code(lambda: kms(job, key['id'], 'not-the-secret').get_secret_value(kms_models.GetSecretValueRequest(secret_name=job['secretName'])))
    result['missing'] = error_code(lambda: v3.get_secret_value(kms_models.GetSecretValueRequest(secret_name='no-such-secret')))

    sts = StsClient(openapi_models.Config(region_id=job['region'], endpoint=job['stsHost'], protocol='http'))
    assumed = sts.assume_role_with_oidc(sts_models.AssumeRoleWithOIDCRequest(
        oidcprovider_arn=job['oidcProviderArn'], role_arn=job['roleArn'], role_session_name='python-sdk', oidctoken=job['oidcToken'], duration_seconds=900,
    ))
    credentials = assumed.body.credentials
    result['assumedRoleArn'] = assumed.body.assumed_role_user.arn
    session = kms(job, credentials.access_key_id, credentials.access_key_secret, security_token=credentials.security_token)
    result['withSession'] = session.get_secret_value(kms_models.GetSecretValueRequest(secret_name=job['secretName'])).body.secret_data
    result['untrusted'] = error_code(lambda: sts.assume_role_with_oidc(sts_models.AssumeRoleWithOIDCRequest(
        oidcprovider_arn=job['oidcProviderArn'], role_arn=job['untrustedRoleArn'], role_session_name='python-sdk', oidctoken=job['oidcToken'],
    )))
    json.dump(result, sys.stdout)


if __name__ == '__main__':
    main()
