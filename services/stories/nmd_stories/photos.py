"""Story photos: presigned uploads to the media store, checked, then re-encoded without their metadata.

A photo can carry where and when it was taken (EXIF GPS), the camera's owner, even a thumbnail of the uncropped
picture. So the file the browser uploaded is never published: it is verified (size, type, magic number), decoded,
its pixels copied into a fresh image and encoded again under a new key, and the upload deleted.
"""

from __future__ import annotations

import io
import logging

from nmd_runtime import media
from PIL import Image, ImageOps, UnidentifiedImageError

log = logging.getLogger(__name__)

MAX_BYTES = 5_000_000
ALLOWED_TYPES = frozenset({media.JPEG, media.PNG, media.WEBP})
UPLOAD_PREFIX = "stories/uploads"
PHOTO_PREFIX = "stories/photos"
# Far beyond any camera's photo, far below a decompression bomb.
MAX_PIXELS = 40_000_000
_FORMATS = {media.JPEG: "JPEG", media.PNG: "PNG", media.WEBP: "WEBP"}


def store() -> media.MediaStore:
    return media.media_store("stories")


def public_url(key: str) -> str:
    return store().public_url(key)


def presign(content_type: str | None = None) -> media.Upload:
    return store().presign_upload(
        UPLOAD_PREFIX, allowed_types=ALLOWED_TYPES, max_bytes=MAX_BYTES, content_type=content_type
    )


def without_metadata(data: bytes, content_type: str) -> bytes:
    """The image re-encoded from its pixels alone: no EXIF, XMP, IPTC, ICC profile, comments or thumbnails."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > MAX_PIXELS:
                raise media.MediaRefused("photo", "The photo has too many pixels; please send a smaller one.")
            # Turned upright first: the orientation lives in the EXIF data that is about to go.
            upright = ImageOps.exif_transpose(image)
            upright.load()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as error:
        raise media.MediaRefused("photo", "The photo could not be read; please try another file.") from error
    mode = (
        upright.mode
        if upright.mode in ("RGB", "RGBA", "L", "LA")
        else ("RGBA" if "transparency" in upright.info or upright.mode in ("PA", "P") else "RGB")
    )
    if content_type == media.JPEG and mode in ("RGBA", "LA"):
        mode = "RGB"
    pixels = upright.convert(mode)
    clean = Image.frombytes(mode, pixels.size, pixels.tobytes())
    out = io.BytesIO()
    options = {"quality": 88} if content_type in (media.JPEG, media.WEBP) else {}
    clean.save(out, format=_FORMATS[content_type], **options)
    return out.getvalue()


def accept_upload(key: str) -> str:
    """The key of the clean photo made from an uploaded one, or MediaRefused (field "photo_key")."""
    if not media.key_has_prefix(key, UPLOAD_PREFIX):
        raise media.MediaRefused("photo_key", "This is not a photo upload of ours.")
    uploads = store()
    verified = uploads.verify_upload(key, allowed_types=ALLOWED_TYPES, max_bytes=MAX_BYTES, field="photo_key")
    data = uploads.get(key) or b""
    try:
        clean = without_metadata(data, verified.content_type)
    except media.MediaRefused as refused:
        uploads.delete(key)
        raise media.MediaRefused("photo_key", refused.message) from None
    photo = uploads.accept(
        PHOTO_PREFIX,
        clean,
        allowed_types=ALLOWED_TYPES,
        max_bytes=MAX_BYTES * 2,
        declared_type=verified.content_type,
        field="photo_key",
    )
    uploads.delete(key)
    return photo.key


def accept_file(data: bytes, declared_type: str | None) -> str:
    """The key of the clean photo made from a file posted through the no-JavaScript form, or MediaRefused."""
    content_type = media.check_media(
        size=len(data),
        declared_type=declared_type,
        head=data[: media.SNIFF_BYTES],
        allowed_types=ALLOWED_TYPES,
        max_bytes=MAX_BYTES,
        field="photo",
    )
    clean = without_metadata(data, content_type)
    return (
        store()
        .accept(
            PHOTO_PREFIX,
            clean,
            allowed_types=ALLOWED_TYPES,
            max_bytes=MAX_BYTES * 2,
            declared_type=content_type,
            field="photo",
        )
        .key
    )


def discard(key: str | None) -> None:
    """Delete a photo or an upload; a failure is logged, not raised (the caller's work is already done)."""
    if not key:
        return
    try:
        store().delete(key)
    except Exception:
        log.exception("could not delete story media %s", key)
