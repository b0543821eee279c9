# boto3 against the gateway: python3 boto3_client.py ENDPOINT ACCESS_KEY SECRET_KEY
import io
import sys
import urllib.request

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

ep, ak, sk = sys.argv[1:4]
s3 = boto3.client("s3", endpoint_url=ep, aws_access_key_id=ak, aws_secret_access_key=sk,
                  region_name="us-east-1", config=Config(s3={"addressing_style": "path"}))
b = "boto3-bucket"
s3.create_bucket(Bucket=b)
assert b in [x["Name"] for x in s3.list_buckets()["Buckets"]]
s3.put_object(Bucket=b, Key="k 1+é", Body=b"hello", Metadata={"color": "blue"}, ContentType="text/plain")
o = s3.get_object(Bucket=b, Key="k 1+é")
assert o["Body"].read() == b"hello" and o["Metadata"] == {"color": "blue"}, o
assert o["ContentType"] == "text/plain"
r = s3.get_object(Bucket=b, Key="k 1+é", Range="bytes=1-3")
assert r["Body"].read() == b"ell" and r["ContentRange"] == "bytes 1-3/5", r

big = bytes(range(256)) * (80 << 10)  # 20 MiB
s3.upload_fileobj(io.BytesIO(big), b, "dir/big",
                  Config=TransferConfig(multipart_threshold=8 << 20, multipart_chunksize=8 << 20))
h = s3.head_object(Bucket=b, Key="dir/big")
assert h["ContentLength"] == len(big) and h["ETag"].endswith('-3"'), h
got = io.BytesIO()
s3.download_fileobj(b, "dir/big", got)
assert got.getvalue() == big

keys = [x["Key"] for x in s3.list_objects_v2(Bucket=b)["Contents"]]
assert keys == ["dir/big", "k 1+é"], keys
res = s3.list_objects_v2(Bucket=b, Delimiter="/")
assert [p["Prefix"] for p in res["CommonPrefixes"]] == ["dir/"], res
assert [x["Key"] for x in s3.list_objects(Bucket=b, Prefix="dir/")["Contents"]] == ["dir/big"]

s3.copy_object(Bucket=b, Key="copy", CopySource={"Bucket": b, "Key": "k 1+é"})
s3.put_object_tagging(Bucket=b, Key="copy", Tagging={"TagSet": [{"Key": "t", "Value": "v"}]})
assert s3.get_object_tagging(Bucket=b, Key="copy")["TagSet"] == [{"Key": "t", "Value": "v"}]

mp = s3.create_multipart_upload(Bucket=b, Key="mp")
p1 = s3.upload_part(Bucket=b, Key="mp", UploadId=mp["UploadId"], PartNumber=1, Body=b"a" * 1000)
p2 = s3.upload_part_copy(Bucket=b, Key="mp", UploadId=mp["UploadId"], PartNumber=2,
                         CopySource={"Bucket": b, "Key": "copy"}, CopySourceRange="bytes=0-1")
parts = s3.list_parts(Bucket=b, Key="mp", UploadId=mp["UploadId"])["Parts"]
assert [p["PartNumber"] for p in parts] == [1, 2], parts
s3.complete_multipart_upload(Bucket=b, Key="mp", UploadId=mp["UploadId"], MultipartUpload={"Parts": [
    {"PartNumber": 1, "ETag": p1["ETag"]}, {"PartNumber": 2, "ETag": p2["CopyPartResult"]["ETag"]}]})
assert s3.get_object(Bucket=b, Key="mp")["Body"].read() == b"a" * 1000 + b"he"

u = s3.generate_presigned_url("get_object", Params={"Bucket": b, "Key": "copy"})
assert urllib.request.urlopen(u).read() == b"hello"
try:
    s3.get_object(Bucket=b, Key="nope")
    raise AssertionError("no error")
except s3.exceptions.NoSuchKey:
    pass
try:
    s3.delete_bucket(Bucket=b)
    raise AssertionError("no error")
except s3.exceptions.ClientError as e:
    assert e.response["Error"]["Code"] == "BucketNotEmpty", e.response
res = s3.delete_objects(Bucket=b, Delete={"Objects": [{"Key": k} for k in ["dir/big", "k 1+é", "copy", "mp"]]})
assert len(res["Deleted"]) == 4, res
s3.delete_bucket(Bucket=b)
print("boto3 OK")
