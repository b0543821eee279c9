# The Python boto example of Alluxio's S3 API page, as it is, run with
# Python 3: only the comparison of the small object changes (boto returns
# bytes under Python 3; the page was tested with Python 2.7).
import boto
import boto.s3.connection

conn = boto.connect_s3(
    aws_access_key_id = '',
    aws_secret_access_key = '',
    host = 'localhost',
    port = 39999,
    path = '/api/v1/s3',
    is_secure=False,
    calling_format = boto.s3.connection.OrdinaryCallingFormat(),
)

bucketName = 'bucket-for-testing'
bucket = conn.create_bucket(bucketName)

conn = boto.connect_s3(
    aws_access_key_id = 'testuser',
    aws_secret_access_key = '',
    host = 'localhost',
    port = 39999,
    path = '/api/v1/s3',
    is_secure=False,
    calling_format = boto.s3.connection.OrdinaryCallingFormat(),
)
assert bucketName in [b.name for b in conn.get_all_buckets()]

smallObjectKey = 'small.txt'
smallObjectContent = 'Hello World!'

key = bucket.new_key(smallObjectKey)
key.set_contents_from_string(smallObjectContent)

assert smallObjectContent == key.get_contents_as_string().decode()

largeObjectKey = 'large.txt'
largeObjectFile = '8mb.data'

key = bucket.new_key(largeObjectKey)
with open(largeObjectFile, 'rb') as f:
    key.set_contents_from_file(f)
with open(largeObjectFile, 'rb') as f:
    largeObject = f.read()

assert largeObject == key.get_contents_as_string()

bucket.delete_key(smallObjectKey)
bucket.delete_key(largeObjectKey)

mp = bucket.initiate_multipart_upload(largeObjectKey)

import math, os
from filechunkio import FileChunkIO

# Use a chunk size of 1MB (feel free to change this)
sourceSize = os.stat(largeObjectFile).st_size
chunkSize = 1048576
chunkCount = int(math.ceil(sourceSize / float(chunkSize)))

for i in range(chunkCount):
    offset = chunkSize * i
    bytes = min(chunkSize, sourceSize - offset)
    with FileChunkIO(largeObjectFile, 'r', offset=offset, bytes=bytes) as fp:
        mp.upload_part_from_file(fp, part_num=i + 1)

mp.complete_upload()

assert largeObject == bucket.get_key(largeObjectKey).get_contents_as_string()

mp = bucket.initiate_multipart_upload(largeObjectKey)
mp.cancel_upload()

bucket.delete_key(largeObjectKey)
conn.delete_bucket(bucketName)
print("boto example OK")
