"""Uploaded media (partner logos, story photos): a local folder on one machine, S3 in production.

    store = media_store("partners")             # MEDIA_BACKEND=local (default) or s3
    upload = store.presign_upload("partners/logos", allowed_types=IMAGE_TYPES, max_bytes=2_000_000)
    # the browser POSTs upload.fields + the file (form field "file", last) to upload.url, then tells us upload.key
    media = store.verify_upload(upload.key, allowed_types=IMAGE_TYPES, max_bytes=2_000_000)   # or MediaRefused
    media.url                                    # public URL to show or publish

Uploads go straight from the browser to the store. S3 enforces the presigned POST policy (content type, size), but
S3 stand-ins do not (moto accepts anything), and a policy cannot tell a PNG from an SVG labelled image/png. So a
key is never used before `verify_upload` has checked it: size, declared content type, and the image's magic number
in its first bytes. What fails is deleted. SVG is never accepted: it can carry script.

The local store signs the form target instead of a policy: `media_blueprint(service)` serves
POST /<service>/media (the upload, limits enforced on receipt) and GET /<service>/media/<key> (the file, with its
sniffed image type only). Mount it on the owning service's app.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import tempfile
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, current_app, has_app_context, redirect, request, send_file
from werkzeug.exceptions import RequestEntityTooLarge

from nmd_runtime import settings, tokens, web

log = logging.getLogger(__name__)

settings.declare("MEDIA_BACKEND", "local", "Where uploads are kept: local (a folder under NMD_VAR_DIR) or s3.")
settings.declare("MEDIA_DIR", "", "Folder of the local media store (default: NMD_VAR_DIR/media/<service>).")
settings.declare("S3_BUCKET", "", "S3 bucket of uploaded media (MEDIA_BACKEND=s3).")
settings.declare(
    "S3_ENDPOINT_URL",
    "",
    "S3 endpoint for S3-compatible stores (empty: AWS). AWS_* credentials "
    "and AWS_DEFAULT_REGION are read by boto3 in the usual way.",
)
settings.declare(
    "S3_PUBLIC_BASE_URL",
    "",
    "Public URL in front of the bucket, e.g. a CDN (empty: the endpoint "
    "URL with the bucket, or https://<bucket>.s3.amazonaws.com).",
)

PNG = "image/png"
JPEG = "image/jpeg"
WEBP = "image/webp"
# The only types verify_upload can recognise by their bytes, so the only ones a store accepts.
IMAGE_TYPES: frozenset[str] = frozenset({PNG, JPEG, WEBP})
SNIFF_BYTES = 32
UPLOAD_PURPOSE = "media-upload"
# A local upload body may exceed max_bytes by the multipart framing and the other fields.
FORM_OVERHEAD = 64 * 1024
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}(?:/[A-Za-z0-9][A-Za-z0-9_.-]{0,99}){0,9}$")
_EXTENSIONS = {PNG: ".png", JPEG: ".jpg", WEBP: ".webp"}


class MediaRefused(Exception):
    """An upload that is not accepted; `field` names the form field to show `message` beside."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Upload:
    """A presigned form: POST `fields` and then the file as form field "file" to `url` (multipart/form-data)."""

    url: str
    fields: dict[str, str]
    key: str
    max_bytes: int = 0
    allowed_types: tuple[str, ...] = ()
    expires_in: int = 0


@dataclass(frozen=True)
class VerifiedMedia:
    key: str
    content_type: str
    size: int
    url: str


def sniff_image_type(head: bytes) -> str | None:
    """PNG, JPEG or WebP by magic number; None for anything else (SVG, HTML, GIF, text...)."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    return None


def check_media(
    *,
    size: int,
    declared_type: str | None,
    head: bytes,
    allowed_types: Iterable[str],
    max_bytes: int,
    field: str = "file",
) -> str:
    """The content type of an acceptable image, else MediaRefused. Shared by every store and by direct uploads."""
    allowed = _allowed(allowed_types)
    if size <= 0:
        raise MediaRefused(field, "The file is empty.")
    if size > max_bytes:
        raise MediaRefused(field, f"The file is too large: at most {_megabytes(max_bytes)} please.")
    declared = (declared_type or "").split(";")[0].strip().lower()
    if declared and declared not in allowed:
        raise MediaRefused(field, f"Only {_names(allowed)} images are accepted.")
    sniffed = sniff_image_type(head)
    if sniffed is None or sniffed not in allowed:
        raise MediaRefused(field, f"This file is not a {_names(allowed)} image.")
    if declared and declared != sniffed:
        raise MediaRefused(field, f"The file is labelled {declared} but is a {sniffed} image.")
    return sniffed


def _allowed(allowed_types: Iterable[str]) -> frozenset[str]:
    allowed = frozenset(t.lower() for t in allowed_types)
    unsupported = allowed - IMAGE_TYPES
    if unsupported or not allowed:
        # Only types recognisable by their bytes: anything else (SVG above all) could not be verified.
        raise ValueError(f"allowed_types must be some of {sorted(IMAGE_TYPES)}, got {sorted(unsupported)}")
    return allowed


def _names(allowed: Iterable[str]) -> str:
    names = [t.split("/")[1].upper() for t in sorted(allowed)]
    return ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else names[0]


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:g} MB"


def check_key(key: str) -> str:
    """A store key: slash-separated segments of letters, digits, '.', '_', '-', none starting with a dot."""
    if not isinstance(key, str) or not _KEY.match(key) or ".." in key:
        raise MediaRefused("key", "Not a valid media key.")
    return key


def new_key(key_prefix: str, content_type: str | None = None) -> str:
    prefix = key_prefix.strip("/")
    check_key(prefix or "x")
    name = uuid.uuid4().hex + (_EXTENSIONS.get(content_type or "", ""))
    return f"{prefix}/{name}" if prefix else name


def key_has_prefix(key: str, key_prefix: str) -> bool:
    """Whether `key` was issued under `key_prefix` (a client may only name keys of its own kind)."""
    return key.startswith(key_prefix.strip("/") + "/")


class MediaStore(ABC):
    """Where uploaded files live. Keys are issued by the store (`presign_upload`) under a caller's prefix."""

    @abstractmethod
    def presign_upload(
        self,
        key_prefix: str,
        *,
        allowed_types: set[str] | frozenset[str],
        max_bytes: int,
        expires: int = 600,
        content_type: str | None = None,
    ) -> Upload:
        """A form the browser posts the file to. `content_type`, when the client said it up front, is pinned
        exactly; otherwise the client picks one of `allowed_types` in a "Content-Type" field."""

    @abstractmethod
    def head(self, key: str) -> tuple[int, str | None, bytes] | None:
        """(size, stored content type, first SNIFF_BYTES bytes), or None when there is no such object."""

    @abstractmethod
    def put(self, key: str, data: bytes, content_type: str) -> None: ...

    @abstractmethod
    def get(self, key: str) -> bytes | None: ...

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the object; removing a missing object is not an error."""

    @abstractmethod
    def public_url(self, key: str) -> str: ...

    def verify_upload(
        self,
        key: str,
        *,
        allowed_types: set[str] | frozenset[str],
        max_bytes: int,
        field: str = "file",
    ) -> VerifiedMedia:
        """Accept an uploaded object only if its size, content type and magic number all pass; delete it if not."""
        try:
            check_key(key)
        except MediaRefused as refused:
            raise MediaRefused(field, refused.message) from None
        found = self.head(key)
        if found is None:
            raise MediaRefused(field, "No file was uploaded under this key, or it has expired.")
        size, declared, head = found
        try:
            content_type = check_media(
                size=size,
                declared_type=declared,
                head=head,
                allowed_types=allowed_types,
                max_bytes=max_bytes,
                field=field,
            )
        except MediaRefused:
            log.info("refused upload %s (%s bytes, %s); deleting it", key, size, declared)
            self.delete(key)
            raise
        return VerifiedMedia(key, content_type, size, self.public_url(key))

    def accept(
        self,
        key_prefix: str,
        data: bytes,
        *,
        allowed_types: set[str] | frozenset[str],
        max_bytes: int,
        declared_type: str | None = None,
        field: str = "file",
    ) -> VerifiedMedia:
        """Check a file that came through the service itself (a no-JavaScript form); store it under a new key."""
        content_type = check_media(
            size=len(data),
            declared_type=declared_type,
            head=data[:SNIFF_BYTES],
            allowed_types=allowed_types,
            max_bytes=max_bytes,
            field=field,
        )
        key = new_key(key_prefix, content_type)
        self.put(key, data, content_type)
        return VerifiedMedia(key, content_type, len(data), self.public_url(key))


# --- local folder ------------------------------------------------------------------------------------------------


class LocalMediaStore(MediaStore):
    """Files in a folder; uploads are posted to the owning service (see `media_blueprint`), which checks a signed
    policy in the URL and enforces its limits on receipt."""

    def __init__(self, folder: str | os.PathLike[str], base_url: str, *, secret_key: str | None = None) -> None:
        self.folder = Path(folder)
        self.base_url = base_url.rstrip("/")
        self.secret_key = secret_key

    def _path(self, key: str) -> Path:
        check_key(key)
        path = (self.folder / key).resolve()
        if not path.is_relative_to(self.folder.resolve()):
            raise MediaRefused("key", "Not a valid media key.")
        return path

    def _meta_path(self, key: str) -> Path:
        # Keys never have a segment starting with ".", so ".meta" cannot collide with an object.
        return self.folder / ".meta" / (key + ".json")

    def presign_upload(
        self,
        key_prefix: str,
        *,
        allowed_types: set[str] | frozenset[str],
        max_bytes: int,
        expires: int = 600,
        content_type: str | None = None,
    ) -> Upload:
        allowed = _allowed(allowed_types)
        if content_type is not None and content_type not in allowed:
            raise MediaRefused("content_type", f"Only {_names(allowed)} images are accepted.")
        key = new_key(key_prefix)
        types = [content_type] if content_type else sorted(allowed)
        policy = tokens.make_token(
            UPLOAD_PURPOSE,
            {"key": key, "types": types, "max": int(max_bytes), "exp": int(time.time()) + int(expires)},
            secret_key=self.secret_key,
        )
        fields = {"key": key}
        if content_type:
            fields["Content-Type"] = content_type
        return Upload(f"{self.base_url}?policy={policy}", fields, key, int(max_bytes), tuple(types), int(expires))

    def read_policy(self, policy: str) -> dict[str, Any]:
        """The signed upload policy, or MediaRefused when it was tampered with or has expired."""
        try:
            value = tokens.read_token(UPLOAD_PURPOSE, policy, None, secret_key=self.secret_key)
        except tokens.BadLink:
            raise MediaRefused("policy", "This upload form is not valid.") from None
        if not isinstance(value, dict) or int(value.get("exp", 0)) < time.time():
            raise MediaRefused("policy", "This upload form has expired; ask for a new one.")
        return value

    def head(self, key: str) -> tuple[int, str | None, bytes] | None:
        path = self._path(key)
        if not path.is_file():
            return None
        with path.open("rb") as handle:
            head = handle.read(SNIFF_BYTES)
        return path.stat().st_size, self._content_type(key), head

    def _content_type(self, key: str) -> str | None:
        try:
            return str(json.loads(self._meta_path(key).read_text("utf-8"))["content_type"])
        except (OSError, ValueError, KeyError):
            return None

    def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = self._meta_path(key)
        meta.parent.mkdir(parents=True, exist_ok=True)
        meta.write_text(json.dumps({"content_type": content_type}), "utf-8")
        # Written aside and renamed, so a reader never sees half a file.
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False, prefix=".upload-") as handle:
            handle.write(data)
        os.replace(handle.name, path)

    def put_file(self, key: str, source: Any, content_type: str) -> None:
        """Store a file-like object (an upload being received) without holding it all in memory."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = self._meta_path(key)
        meta.parent.mkdir(parents=True, exist_ok=True)
        meta.write_text(json.dumps({"content_type": content_type}), "utf-8")
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False, prefix=".upload-") as handle:
            shutil.copyfileobj(source, handle)
        os.replace(handle.name, path)

    def get(self, key: str) -> bytes | None:
        path = self._path(key)
        return path.read_bytes() if path.is_file() else None

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)
        self._meta_path(key).unlink(missing_ok=True)

    def public_url(self, key: str) -> str:
        return f"{self.base_url}/{quote(check_key(key))}"


# --- S3 ----------------------------------------------------------------------------------------------------------


class S3MediaStore(MediaStore):
    """An S3 bucket through boto3; the browser uploads with a presigned POST whose policy pins the key, the
    content type and the size range."""

    def __init__(
        self,
        bucket: str,
        endpoint_url: str | None = None,
        public_base_url: str | None = None,
        *,
        client: Any = None,
    ) -> None:
        if not bucket:
            raise ValueError("S3MediaStore needs a bucket (S3_BUCKET)")
        self.bucket = bucket
        self.endpoint_url = endpoint_url or None
        if client is None:
            import boto3
            from botocore.config import Config

            client = boto3.client(
                "s3",
                endpoint_url=self.endpoint_url,
                config=Config(
                    signature_version="s3v4",
                    connect_timeout=5,
                    read_timeout=15,
                    retries={"max_attempts": 3, "mode": "standard"},
                ),
            )
        self.client = client
        if public_base_url:
            self.public_base_url = public_base_url.rstrip("/")
        elif self.endpoint_url:
            self.public_base_url = f"{self.endpoint_url.rstrip('/')}/{bucket}"
        else:
            self.public_base_url = f"https://{bucket}.s3.amazonaws.com"

    def presign_upload(
        self,
        key_prefix: str,
        *,
        allowed_types: set[str] | frozenset[str],
        max_bytes: int,
        expires: int = 600,
        content_type: str | None = None,
    ) -> Upload:
        allowed = _allowed(allowed_types)
        if content_type is not None and content_type not in allowed:
            raise MediaRefused("content_type", f"Only {_names(allowed)} images are accepted.")
        key = new_key(key_prefix)
        conditions: list[Any] = [["content-length-range", 1, int(max_bytes)]]
        fields: dict[str, str] = {}
        if content_type:
            fields["Content-Type"] = content_type
            conditions.append({"Content-Type": content_type})
        else:
            # A policy cannot say "one of"; "image/" is the narrowest it can say, and verify_upload does the rest.
            conditions.append(["starts-with", "$Content-Type", "image/"])
        post = self.client.generate_presigned_post(
            Bucket=self.bucket, Key=key, Fields=fields or None, Conditions=conditions, ExpiresIn=int(expires)
        )
        types = (content_type,) if content_type else tuple(sorted(allowed))
        return Upload(post["url"], dict(post["fields"]), key, int(max_bytes), types, int(expires))

    def head(self, key: str) -> tuple[int, str | None, bytes] | None:
        from botocore.exceptions import ClientError

        try:
            found = self.client.head_object(Bucket=self.bucket, Key=key)
            size = int(found["ContentLength"])
            head = b""
            if size > 0:
                first = self.client.get_object(Bucket=self.bucket, Key=key, Range=f"bytes=0-{SNIFF_BYTES - 1}")
                body = first["Body"]
                try:
                    head = body.read(SNIFF_BYTES)
                finally:
                    body.close()
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                return None
            raise
        return size, found.get("ContentType"), head

    def put(self, key: str, data: bytes, content_type: str) -> None:
        self.client.put_object(Bucket=self.bucket, Key=check_key(key), Body=data, ContentType=content_type)

    def get(self, key: str) -> bytes | None:
        from botocore.exceptions import ClientError

        try:
            body = self.client.get_object(Bucket=self.bucket, Key=check_key(key))["Body"]
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                return None
            raise
        try:
            return bytes(body.read())
        finally:
            body.close()

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=check_key(key))

    def public_url(self, key: str) -> str:
        return f"{self.public_base_url}/{quote(check_key(key))}"


# --- choosing a store, and the local store's routes --------------------------------------------------------------

_stores: dict[tuple[str, ...], MediaStore] = {}


def media_store(service: str | None = None) -> MediaStore:
    """The store MEDIA_BACKEND names, for `service` (default: the current app's SERVICE_NAME).

    local: MEDIA_DIR or NMD_VAR_DIR/media/<service>, served at PUBLIC_BASE_URL/<service>/media/<key>.
    s3: S3_BUCKET on S3_ENDPOINT_URL (empty: AWS), public at S3_PUBLIC_BASE_URL.
    """
    if service is None:
        service = str(current_app.config.get("SERVICE_NAME", "media")) if has_app_context() else "media"
    backend = settings.env("MEDIA_BACKEND").strip().lower()
    if backend == "s3":
        cache_key: tuple[str, ...] = (
            "s3",
            settings.env("S3_BUCKET"),
            settings.env("S3_ENDPOINT_URL"),
            settings.env("S3_PUBLIC_BASE_URL"),
        )
        if cache_key not in _stores:
            _stores[cache_key] = S3MediaStore(
                settings.env("S3_BUCKET"),
                settings.env("S3_ENDPOINT_URL") or None,
                settings.env("S3_PUBLIC_BASE_URL") or None,
            )
        return _stores[cache_key]
    if backend != "local":
        raise ValueError(f"MEDIA_BACKEND must be local or s3, not {backend!r}")
    folder = settings.env("MEDIA_DIR") or str(settings.var_dir() / "media" / service)
    base_url = f"{settings.env('PUBLIC_BASE_URL').rstrip('/')}/{service}/media"
    cache_key = ("local", folder, base_url, settings.env("SECRET_KEY"))
    if cache_key not in _stores:
        _stores[cache_key] = LocalMediaStore(folder, base_url)
    return _stores[cache_key]


def media_blueprint(service: str, store: MediaStore | None = None) -> Blueprint:
    """POST /<service>/media (local uploads) and GET /<service>/media/<key> (local files; S3: a redirect).

    `store` defaults to media_store(service), looked up per request so tests may change the environment.
    """
    blueprint = Blueprint(f"{service}_media", __name__)

    def current() -> MediaStore:
        return store if store is not None else media_store(service)

    @blueprint.post(f"/{service}/media")
    def receive_upload() -> Any:
        # Answered in JSON whatever the Accept header: the caller is a script (or a test), as with S3.
        local = current()
        if not isinstance(local, LocalMediaStore):
            return _refusal(404, "key", "Uploads go straight to the media store.")
        try:
            policy = local.read_policy(request.args.get("policy", ""))
        except MediaRefused as refused:
            return _refusal(403, refused.field, refused.message)
        max_bytes = int(policy["max"])
        # Enforced while the body is read: a larger body stops with 413 before it is all received.
        request.max_content_length = max_bytes + FORM_OVERHEAD
        try:
            form, files = request.form, request.files
        except RequestEntityTooLarge:
            return _refusal(413, "file", f"The file is too large: at most {_megabytes(max_bytes)} please.")
        if form.get("key") != policy["key"]:
            return _refusal(403, "key", "The key does not match this upload form.")
        upload = files.get("file")
        if upload is None or not upload.filename:
            return _refusal(400, "file", "Choose a file to upload.")
        declared = form.get("Content-Type") or upload.mimetype or ""
        head = upload.stream.read(SNIFF_BYTES)
        upload.stream.seek(0, os.SEEK_END)
        size = upload.stream.tell()
        upload.stream.seek(0)
        try:
            content_type = check_media(
                size=size, declared_type=declared, head=head, allowed_types=policy["types"], max_bytes=max_bytes
            )
        except MediaRefused as refused:
            status = 413 if size > max_bytes else 415 if size > 0 else 400
            return _refusal(status, refused.field, refused.message)
        local.put_file(str(policy["key"]), upload.stream, content_type)
        return Response(status=204)

    @blueprint.get(f"/{service}/media/<path:key>")
    def serve(key: str) -> Any:
        chosen = current()
        try:
            check_key(key)
        except MediaRefused:
            web.abort_with(404, "There is no such file.")
        if not isinstance(chosen, LocalMediaStore):
            return redirect(chosen.public_url(key), code=302)
        found = chosen.head(key)
        if found is None:
            web.abort_with(404, "There is no such file.")
        # Served as the type its bytes show, never as what was claimed: nothing here can become a page.
        content_type = sniff_image_type(found[2]) or "application/octet-stream"
        response = send_file(
            chosen._path(key),
            mimetype=content_type,
            max_age=3600,
            conditional=True,
            download_name=key.rsplit("/", 1)[-1],
            as_attachment=content_type not in IMAGE_TYPES,
        )
        response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    return blueprint


def _refusal(status: int, field: str, message: str) -> Response:
    names = {
        400: "Bad Request",
        403: "Forbidden",
        404: "Not Found",
        413: "Request Entity Too Large",
        415: "Unsupported Media Type",
    }
    body = {"code": status, "status": names.get(status, ""), "message": message, "errors": {field: [message]}}
    response = current_app.json.response(body)
    response.status_code = status
    return response


__all__ = [
    "IMAGE_TYPES",
    "JPEG",
    "PNG",
    "WEBP",
    "LocalMediaStore",
    "MediaRefused",
    "MediaStore",
    "S3MediaStore",
    "Upload",
    "VerifiedMedia",
    "check_key",
    "check_media",
    "key_has_prefix",
    "media_blueprint",
    "media_store",
    "new_key",
    "sniff_image_type",
]
