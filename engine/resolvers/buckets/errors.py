"""Plain-language reasons for what boto3 and botocore raise."""

from __future__ import annotations

from typing import Final

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
    SSLError,
)

from modelward.engine.resolvers.fetch import TIMEOUT_ENV

#: S3 error codes whose meaning does not depend on the request.
CODES: Final = {
    "NoSuchBucket": "the bucket does not exist",
    "InvalidBucketName": "the bucket name is not valid",
    "NoSuchKey": "no such object",
    "NoSuchVersion": "no such version of the object",
    "AccessDenied": "access denied (check the credentials and the bucket policy)",
    "InvalidAccessKeyId": "the access key id is not known to the server (InvalidAccessKeyId)",
    "XAdminUserNotFound": "the access key id is not known to the server (InvalidAccessKeyId)",
    "SignatureDoesNotMatch": (
        "the secret key does not match the access key id (SignatureDoesNotMatch)"
    ),
    "ExpiredToken": "the session token has expired (ExpiredToken)",
    "PreconditionFailed": "the object changed while it was being downloaded",
    "MethodNotAllowed": "the version is a delete marker",
    "405": "the version is a delete marker",
}


def error_code(exc: BaseException) -> str:
    """The S3 error code (or HTTP status) of a ``ClientError``; empty for anything else."""
    if not isinstance(exc, ClientError):
        return ""
    error = exc.response.get("Error") or {}
    return str(error.get("Code") or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode"))


def is_missing(exc: BaseException) -> bool:
    """True when the object (or version) does not exist."""
    code = error_code(exc)
    if code in ("404", "NoSuchKey", "NoSuchVersion", "NotFound"):
        return True
    # An unknown version id is "InvalidArgument" on some servers (AWS: "Invalid version id").
    return code == "InvalidArgument" and "version" in str(exc).lower()


def reason(exc: BaseException, endpoint: str) -> str:
    """Why a request to ``endpoint`` failed, in one line."""
    code = error_code(exc)
    if code:
        if code in ("403", "Forbidden"):
            return CODES["AccessDenied"]
        if is_missing(exc) and code not in CODES:
            return "no such object or version"
        message = (exc.response.get("Error") or {}).get("Message")  # type: ignore[attr-defined]
        return CODES.get(code) or f"{code}: {message or 'error from the server'}"
    if isinstance(exc, NoCredentialsError):
        return (
            "no credentials found (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or "
            "AWS_PROFILE, or HMAC keys for gs://)"
        )
    if isinstance(exc, PartialCredentialsError | ProfileNotFound):
        return f"the credentials are incomplete: {exc}"
    if isinstance(exc, SSLError):
        return f"TLS verification of {endpoint} failed: {exc}"
    if isinstance(exc, ConnectTimeoutError | ReadTimeoutError):
        return f"{endpoint} did not answer in time (set {TIMEOUT_ENV} to wait longer)"
    if isinstance(exc, EndpointConnectionError):
        return f"cannot connect to {endpoint}"
    if isinstance(exc, BotoCoreError):
        return f"{type(exc).__name__}: {exc}"
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": ")
