"""The S3 storage path against a real S3 endpoint on 127.0.0.1 (moto's server)."""
from __future__ import annotations

import io
import uuid

import pytest
from PIL import Image

from tests.photos.conftest import make_image, sha

URL = "/api/v1/photos/{}"


@pytest.fixture
def s3_storage(app, s3_endpoint, photo_dirs, monkeypatch):
    """Photos go to a fresh bucket on the local S3 endpoint for this test."""
    import boto3

    bucket = f"zicha-test-{uuid.uuid4().hex[:12]}"
    settings = {
        "PHOTO_STORAGE": "s3", "PHOTO_S3_BUCKET": bucket, "PHOTO_S3_PREFIX": "evidence",
        "PHOTO_S3_ENDPOINT_URL": s3_endpoint, "PHOTO_S3_REGION": "us-east-1",
        "PHOTO_S3_ACCESS_KEY_ID": "testing", "PHOTO_S3_SECRET_ACCESS_KEY": "testing",
    }
    for key, value in settings.items():
        monkeypatch.setitem(app.config, key, value)
    s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
    s3.create_bucket(Bucket=bucket)
    yield s3, bucket
    for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
        s3.delete_object(Bucket=bucket, Key=item["Key"])
    s3.delete_bucket(Bucket=bucket)


def keys(s3, bucket) -> list[str]:
    return sorted(item["Key"] for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []))


def test_photo_is_stored_in_and_served_from_s3(client, world, s3_storage, photo_dirs):
    s3, bucket = s3_storage
    data = make_image("JPEG", (1000, 750), orientation=6)
    digest = sha(data)
    r = client.put(URL.format(digest), data=data, content_type="image/jpeg", headers=world.a.auth())
    assert r.status_code == 201
    base = f"evidence/{world.a.enterprise_id}/{digest[:2]}/{digest}"
    assert keys(s3, bucket) == [f"{base}/display.jpg", f"{base}/original", f"{base}/thumb.jpg"]
    assert s3.get_object(Bucket=bucket, Key=f"{base}/original")["Body"].read() == data
    assert not any(photo_dirs["PHOTO_DIR"].rglob("*"))  # nothing on local disk

    thumb = client.get(f"{URL.format(digest)}/thumb", headers=world.a.auth())
    assert thumb.status_code == 200 and Image.open(io.BytesIO(thumb.data)).size == (240, 320)
    assert client.get(f"{URL.format(digest)}/display", headers=world.b.auth()).status_code == 404


def test_refused_upload_writes_nothing_to_s3(client, world, s3_storage, photo_dirs):
    s3, bucket = s3_storage
    data = make_image() + b"<?php echo 1; ?>"
    r = client.put(URL.format(sha(data)), data=data, content_type="image/jpeg", headers=world.a.auth())
    assert r.status_code == 422
    assert keys(s3, bucket) == []


def test_s3_storage_interface(app, s3_storage):
    from server.photos.storage import S3Storage, get_storage

    s3, bucket = s3_storage
    with app.app_context():
        storage = get_storage()
    assert isinstance(storage, S3Storage)
    storage.put_bytes("1/ab/x/thumb.jpg", b"jpeg")
    assert storage.exists("1/ab/x/thumb.jpg") and storage.get_bytes("1/ab/x/thumb.jpg") == b"jpeg"
    storage.delete("1/ab/x/thumb.jpg")
    assert not storage.exists("1/ab/x/thumb.jpg")
    with pytest.raises(FileNotFoundError):
        storage.get_bytes("1/ab/x/thumb.jpg")
